"""The synthetic corpus: execution logs generated from task templates, for the default data set and
for fresh held-out sets (another seed)."""

from orchestai_core.synth.generator import generate_logs

__all__ = ["generate_logs"]
