"""Outcomes of worker choices: off-policy estimators and the real outcome data they are checked on, worker
selection by predicted utility under budgets, off-policy evaluation of that selection, and calibration of
the predicted success."""

from orchestai_core.outcomes.calibration import (
    Calibration,
    ReliabilityBin,
    expected_calibration_error,
    logged_calibration,
    reliability_curve,
)
from orchestai_core.outcomes.estimators import (
    IPS,
    SNIPS,
    DirectMethod,
    DoublyRobust,
    EstimateRow,
    Estimator,
    LoggedFeedback,
    OffPolicyEvaluation,
    deterministic_policy,
    policy_value,
)
from orchestai_core.outcomes.policy_eval import (
    CostQualityCurve,
    CurvePoint,
    LoggedOutcomes,
    LoggedSteps,
    PolicyTable,
    cost_quality_curve,
    evaluate_policy,
    logged_outcomes,
    model_policy,
    policy_matrix,
    steps_from_logs,
)
from orchestai_core.outcomes.selection import Selection, best_workers, choose_workers, critical_path, utility

__all__ = [
    "Calibration", "ReliabilityBin", "expected_calibration_error", "logged_calibration", "reliability_curve",
    "IPS", "SNIPS", "DirectMethod", "DoublyRobust", "EstimateRow", "Estimator", "LoggedFeedback",
    "OffPolicyEvaluation", "deterministic_policy", "policy_value",
    "CostQualityCurve", "CurvePoint", "LoggedOutcomes", "LoggedSteps", "PolicyTable", "cost_quality_curve",
    "evaluate_policy", "logged_outcomes", "model_policy", "policy_matrix", "steps_from_logs",
    "Selection", "best_workers", "choose_workers", "critical_path", "utility",
]
