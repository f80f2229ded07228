"""The synthetic corpus: execution logs generated from task templates, for the default data set and
for fresh held-out sets (another seed), with the ground truth of their outcomes (`synth.truth`)."""

from orchestai_core.synth.generator import generate_logs
from orchestai_core.synth.truth import expected_cost, logging_distribution, success_matrix, true_success

__all__ = ["expected_cost", "generate_logs", "logging_distribution", "success_matrix", "true_success"]
