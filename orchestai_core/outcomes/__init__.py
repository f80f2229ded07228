"""Outcomes of worker choices: off-policy estimators and the real outcome data they are checked on."""

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

__all__ = [
    "IPS", "SNIPS", "DirectMethod", "DoublyRobust", "EstimateRow", "Estimator", "LoggedFeedback",
    "OffPolicyEvaluation", "deterministic_policy", "policy_value",
]
