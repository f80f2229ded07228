"""Fake planners keeping `Planner.predict_outcomes`'s contract, for tests of what is built on the outcome
model (reports, the eval CLI, the Evaluate page) without training one."""

from dataclasses import dataclass

import numpy as np

from orchestai_core.dag import topological_order
from orchestai_core.model.consensus import ConsensusSettings
from orchestai_core.synth import expected_cost, success_matrix


@dataclass
class StepOutcomes:
    p_success: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    allowed: np.ndarray


class TruthPlanner:
    """Predicts the generator's true success and expected cost for every (step, worker) of the logs it was
    given, in the examples' node order; latency is a fixed 1 s per worker rank."""

    consensus = ConsensusSettings(None)  # plans as decoded (it plans nothing: eval asks)

    def __init__(self, logs, catalogue, max_nodes=48):
        self.worker_names = catalogue.names()
        self.catalogue, self.max_nodes = catalogue, max_nodes
        self.by_id = {log["id"]: log for log in logs}

    def predict_outcomes(self, examples, batch_size=64):
        out = []
        for example in examples:
            log = self.by_id[example.id]
            truth = success_matrix(log, self.catalogue)
            order = topological_order(log["subtasks"])[:self.max_nodes]
            p = np.array([[truth[i][w] for w in self.worker_names] for i in order])
            cost = np.array([[expected_cost(log, i, w, self.catalogue) for w in self.worker_names] for i in order])
            latency = np.tile(1000.0 * (1 + np.arange(len(self.worker_names))), (len(order), 1))
            out.append(StepOutcomes(p, cost, latency, np.ones_like(p, dtype=bool)))
        return out
