"""A small real-data training run: the default recipe (fewer epochs) on 1,000 real user requests must plan 150
others better than copying the plan of the nearest training request. A check that the planner learns from
people's words, not a timing. The same run's end-of-training fit of the step order is checked too.

`data/ultratool_sample.jsonl.gz`: 1,150 TaskBench rows of the UltraTool training split as reformatted by
GNN4TaskPlan (MIT licence), drawn once with a seeded shuffle from the 3,027 rows of
`../shared/data/ultratool/train.jsonl.gz`; the first 1,000 train, the last 150 are the fixed dev sample.
"""

from pathlib import Path

import pytest

from orchestai_core.checkpoints import BEST
from orchestai_core.config import load_config
from orchestai_core.evaluate import evaluate_planner
from orchestai_core.ingest import read_records
from orchestai_core.planner_api import Planner
from orchestai_core.train import Phase1Trainer, training_settings
from orchestai_core.training_data import example_from_log

SAMPLE = Path(__file__).parent / "data" / "ultratool_sample.jsonl.gz"
TRAIN, DEV = 1000, 150
EPOCHS = 15


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    records = list(read_records(SAMPLE, fmt="taskbench"))
    examples = [example_from_log(r.log) for r in records if not r.error]
    train_cfg, model_cfg = training_settings(load_config(), num_epochs=EPOCHS, val_metrics_max=40)
    out = tmp_path_factory.mktemp("real-requests")
    trainer = Phase1Trainer(train_cfg, model_cfg, out, "cpu", progress=False)
    trainer.setup(examples[:TRAIN])
    summary = trainer.train()
    return records, examples[TRAIN:TRAIN + DEV], out / BEST, summary


def test_every_sampled_row_imports(run):
    records, *_ = run
    assert len(records) == TRAIN + DEV and not [r.error for r in records if r.error]


def test_the_trained_planner_beats_copying_the_nearest_training_request(run):
    _, dev, best, summary = run
    assert summary["status"] == "completed" and "consensus" in summary
    result = evaluate_planner(Planner.load(best, "cpu"), dev)
    baseline = result["baseline"]
    assert result["n"] == DEV and result["dag_validity"] == 1.0
    assert result["node_f1"] > baseline["node_f1"], (result["node_f1"], baseline["node_f1"])
    assert result["edge_f1"] > baseline["edge_f1"], (result["edge_f1"], baseline["edge_f1"])


def test_training_fits_the_step_order_of_the_chains_on_validation(run):
    """Every real plan is a chain in the order its request asks: training fits a step order (`model/ordering.py`)
    and keeps the weight that plans the validation logs best, or none; the planner re-orders by it only then."""
    from orchestai_core.checkpoints import load_checkpoint
    from orchestai_core.consensus_fit import MAX_VALIDATION
    from orchestai_core.model.consensus import planning_value
    from orchestai_core.model.ordering import WEIGHTS, describe

    _, _, best, summary = run
    entry = load_checkpoint(best).consensus["order"]
    assert entry["weight"] in (0.0, *WEIGHTS) and summary["consensus"]["order"]["weight"] == entry["weight"]
    table = entry["validation"]
    assert set(table) == {"order off", *(f"order {w:g}" for w in WEIGHTS)}
    assert all(row["n"] == min(MAX_VALIDATION, summary["val_logs"]) for row in table.values())
    off = planning_value(table["order off"])
    if entry["weight"]:
        assert planning_value(table[f"order {entry['weight']:g}"]) > off
    else:
        assert all(planning_value(row) <= off + 1e-9 for row in table.values())
    planner, alone = Planner.load(best, "cpu"), Planner.load(best, "cpu", consensus=False)
    assert (planner.order is not None) == bool(entry["weight"]) and planner.order_note == describe(entry["weight"])
    assert alone.order is None and alone.order_note is None  # the model's plans as decoded
