"""The Evaluate page's service: datasets, the background job, and the report's tables; with the
per-case functions it adds to orchestai_core.evaluate."""

import gzip
import json
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from orchestai_core.dag import Graph
from orchestai_core.evaluate import (
    Case,
    evaluate_cases,
    evaluate_planner,
    nearest_neighbour_baseline,
    score,
    summarise_cases,
    unfamiliar_share,
)
from orchestai_core.synth import generate_logs
from orchestai_core.training_data import example_from_log
from workbench.services.evaluation import (
    DatasetError,
    EvaluationJob,
    EvaluationReport,
    accepted_examples,
    case_rows,
    confusion_table,
    dataset_examples,
    graph_subtasks,
    held_out_examples,
    metrics_rows,
    template_rows,
    uploaded_examples,
    worst_cases,
)
from workbench.services.planning import get_planner

GOLD = Graph(["extract", "summarize", "translate"], ["a", "b", "c"], [[], [0], [1]])


def _case(case_id, predicted, template="tpl"):
    return Case(case_id, f"instruction {case_id}", template, predicted, GOLD, score(predicted, GOLD), True)


def _report(cases, baseline=None):
    return EvaluationReport("ckpt", "test set", summarise_cases(cases), baseline or {}, cases)


@pytest.fixture(scope="module")
def planner(tiny_checkpoint):
    return get_planner(tiny_checkpoint)


@pytest.fixture(scope="module")
def examples():
    return [example_from_log(log) for log in generate_logs(10, seed=5)]


def test_per_case_results_add_up_to_evaluate_planner(planner, examples):
    seen = []
    cases = evaluate_cases(planner, examples, batch_size=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 10), (8, 10), (10, 10)]
    assert [c.id for c in cases] == [e.id for e in examples]
    assert all(c.gold.types == e.types for c, e in zip(cases, examples))
    whole = evaluate_planner(planner, examples)
    whole.pop("baseline")
    cut = whole.pop("cut")  # the tiny planner reads 64 tokens: some synthetic instructions are longer
    assert len(cut) == 1 and cut[0].startswith("4 of 10 instructions are longer than the encoder reads (64 tokens")
    assert whole.pop("unfamiliar") == unfamiliar_share(cases, planner.familiar_floor)
    assert summarise_cases(cases) == whole


def test_job_in_the_background_reports_metrics_baseline_and_cases(planner, examples):
    job = EvaluationJob(planner, examples, "tiny", "synthetic")
    assert job.running and job.fraction == 0.0
    assert job.start().wait(120)
    assert job.error is None and job.fraction == 1.0 and job.done == 10
    expected = evaluate_planner(planner, examples)
    assert job.report.baseline == expected.pop("baseline")
    assert job.report.cut == expected.pop("cut")
    assert job.report.unfamiliar == expected.pop("unfamiliar") and job.report.unfamiliar["of"] == 10
    assert job.report.metrics == expected
    assert len(job.report.cases) == 10 and job.report.checkpoint == "tiny"


def test_a_failing_job_keeps_its_error_instead_of_hanging(examples):
    class Broken:
        def decode_and_embed(self, texts, leave_out=None):
            raise RuntimeError("CUDA out of memory\nmore detail")

    job = EvaluationJob(Broken(), examples, "broken", "synthetic")
    job.run()
    assert not job.running and job.report is None
    assert job.error == "RuntimeError: CUDA out of memory"


def test_held_out_logs_are_the_checkpoints_own_validation_logs(store, planner):
    logs = [*generate_logs(48, seed=11), *generate_logs(6, seed=99)]  # the tiny checkpoint's data, and new logs
    store.logs.add(logs)
    assert planner.val_ids and set(planner.val_ids) < {log["id"] for log in logs[:48]}
    held = held_out_examples(store, planner, limit=1000)
    assert [e.id for e in held] == [log["id"] for log in logs if log["id"] in set(planner.val_ids)]
    assert not {e.instruction for e in held} & {p["instruction"] for p in planner.train_plans}
    assert len(held_out_examples(store, planner, limit=2)) == 2


def test_without_validation_ids_held_out_logs_are_those_the_checkpoint_did_not_train_on(store, planner):
    planner = SimpleNamespace(train_plans=planner.train_plans, val_ids=[])  # a checkpoint that lists no split
    trained = {p["instruction"] for p in planner.train_plans}
    logs = [*generate_logs(48, seed=11), *generate_logs(6, seed=99)]  # the tiny checkpoint's data, and new logs
    store.logs.add(logs)
    store.logs.set_review([logs[-1]["id"]], "rejected", "bob")
    held = held_out_examples(store, planner, limit=1000)
    expected = [log["id"] for log in logs[:-1] if log["instruction"] not in trained]
    assert [e.id for e in held] == expected
    assert len(expected) >= 5 and not any(e.instruction in trained for e in held)
    assert [e.id for e in held_out_examples(store, planner, limit=3)] == expected[:3]


def test_nothing_held_out_is_a_clear_message(store, planner):
    with pytest.raises(DatasetError, match="None of this checkpoint's validation logs is in the store"):
        held_out_examples(store, planner, limit=100)
    planner = SimpleNamespace(train_plans=planner.train_plans, val_ids=[])
    store.logs.add([log for log in generate_logs(48, seed=11)
                    if log["instruction"] in {p["instruction"] for p in planner.train_plans}])
    with pytest.raises(DatasetError, match="nothing held out"):
        held_out_examples(store, planner, limit=100)


def test_accepted_logs_only_and_a_message_when_there_are_none(store):
    logs = list(generate_logs(5, seed=3))
    store.logs.add(logs)
    with pytest.raises(DatasetError, match="no accepted logs"):
        accepted_examples(store, 100)
    store.logs.set_review([logs[1]["id"], logs[3]["id"], logs[4]["id"]], "accepted", "ann")
    assert [e.id for e in accepted_examples(store, 100)] == [logs[1]["id"], logs[3]["id"], logs[4]["id"]]
    assert [e.id for e in accepted_examples(store, 2)] == [logs[1]["id"], logs[3]["id"]]


def test_uploads_give_examples_or_name_the_bad_line(spec_example):
    good = json.dumps(spec_example).encode()
    assert [e.types for e in uploaded_examples("gold.jsonl", good + b"\n\n" + good, 10)] == [
        ["extract_text", "summarize", "translate", "translate"]] * 2
    assert len(uploaded_examples("gold.jsonl.gz", gzip.compress(good + b"\n" + good), 1)) == 1
    with pytest.raises(DatasetError, match=r"^gold.jsonl: line 2: "):
        uploaded_examples("gold.jsonl", good + b"\n{broken", 10)
    with pytest.raises(DatasetError, match="expected a .jsonl"):
        uploaded_examples("gold.csv", good, 10)
    with pytest.raises(DatasetError, match="no logs"):
        uploaded_examples("empty.jsonl", b"\n", 10)
    packed = gzip.compress(good * 50)
    with pytest.raises(DatasetError, match=r"^cut.jsonl.gz: cannot read \(Compressed file ended"):
        uploaded_examples("cut.jsonl.gz", packed[:-12], 10)
    with pytest.raises(DatasetError, match=r"^bad.jsonl.gz: cannot read \(Error -3"):
        uploaded_examples("bad.jsonl.gz", packed[:10] + b"\xff" * 20 + packed[30:], 10)


def test_uploads_skip_invalid_lines_when_asked_and_read_taskbench_rows(spec_example):
    good = json.dumps(spec_example).encode()
    skipped = []
    examples = uploaded_examples("gold.jsonl", good + b"\n{broken\n" + good, 10, skipped=skipped)
    assert len(examples) == 2 and [(s.line, s.error[:12]) for s in skipped] == [(2, "invalid JSON")]
    with pytest.raises(DatasetError, match=r"^gold.jsonl: no logs to evaluate on \(1 invalid log\(s\) skipped: "
                                           r"line 1: instruction: required field missing"):
        uploaded_examples("gold.jsonl", b'{"id": "x"}\n', 10, skipped=[])
    chain = {"user_request": "Write the file, then change it.", "task_nodes": [{"task": "file_write"},
                                                                              {"task": "file_modify"}],
             "task_links": [{"source": "file_write", "target": "file_modify"}], "task_steps": []}
    unmappable = {**chain, "task_links": [{"source": "file_write", "target": "send_email"}]}
    rows = (json.dumps(chain) + "\n" + json.dumps(unmappable) + "\n").encode()
    skipped = []
    [example] = uploaded_examples("rows.jsonl", rows, 10, "taskbench", skipped)
    assert example.types == ["file_write", "file_modify"] and example.parents == [[], [0]]
    assert [s.line for s in skipped] == [2] and "send_email" in skipped[0].error


def test_the_dataset_choice_picks_its_examples(store, spec_example):
    logs = list(generate_logs(3, seed=6))
    store.logs.add(logs)
    store.logs.set_review([logs[2]["id"]], "accepted", "ann")
    assert [e.id for e in dataset_examples("accepted", store, None, 10)] == [logs[2]["id"]]
    upload = ("gold.jsonl", json.dumps(spec_example).encode())
    assert [e.id for e in dataset_examples("upload", store, None, 10, upload)] == ["log-000042"]
    with pytest.raises(DatasetError, match="Choose a log file"):
        dataset_examples("upload", store, None, 10)


def test_metrics_sit_beside_baseline_and_targets():
    perfect = _case("p", GOLD)
    wrong_worker = _case("w", Graph(GOLD.types, ["a", "b", "x"], GOLD.parents))
    rows = {r["metric"]: r for r in metrics_rows(_report([perfect, wrong_worker], {"node_f1": 0.5}))}
    assert rows["DAG validity"]["model"] == 1.0 and rows["DAG validity"]["target"] == "≥ 95%"
    assert rows["DAG validity"]["meets target"] == "✓ yes"
    assert rows["Worker accuracy (selection)"]["model"] == pytest.approx(5 / 6)
    assert rows["Worker accuracy (selection)"]["target"] == "75%–85%"
    assert rows["Node-F1 (decomposition)"]["nearest-neighbour baseline"] == 0.5
    assert rows["Exact match"]["target"] == "—" and rows["Exact match"]["meets target"] == "—"
    low = _report([_case("bad", Graph(["other"], ["z"], [[]]))])
    assert {r["metric"]: r["meets target"] for r in metrics_rows(low)}["Node-F1 (decomposition)"] == "✗ no"


def test_templates_are_listed_worst_first():
    cases = [_case("1", GOLD, "good"), _case("2", Graph(["extract"], ["a"], [[]]), "bad"),
             _case("3", GOLD, "half"), _case("4", Graph(["extract", "summarize"], ["a", "b"], [[], [0]]), "half")]
    rows = template_rows(_report(cases))
    assert [(r["template"], r["logs"], r["error"]) for r in rows] == [("bad", 1, 1.0), ("half", 2, 0.5),
                                                                     ("good", 1, 0.0)]


def test_confusion_table_has_gold_rows_and_predicted_columns():
    cases = [_case("1", GOLD), _case("2", Graph(GOLD.types, ["a", "x", "c"], GOLD.parents))]
    gold, predicted, counts = confusion_table(_report(cases))
    assert gold == ["a", "b", "c"] and predicted == ["a", "b", "c", "x"]
    assert counts == [[2, 0, 0, 0], [0, 1, 0, 1], [0, 0, 2, 0]]


def test_worst_cases_come_first_and_graphs_become_subtasks():
    cases = [_case("ok", GOLD), _case("worker", Graph(GOLD.types, ["a", "b", "x"], GOLD.parents)),
             _case("lost", Graph(["extract"], ["a"], [[]])), _case("edges", Graph(GOLD.types, GOLD.workers,
                                                                                   [[], [0], [0]]))]
    worst = worst_cases(_report(cases), 3)
    assert [c.id for c in worst] == ["lost", "edges", "worker"]
    assert case_rows(worst)[0] == {"log": "lost", "template": "tpl", "node-F1": 0.5, "edge-F1": 0.0,
                                   "workers right": "1 of 1", "instruction": "instruction lost"}
    assert graph_subtasks(GOLD) == [
        {"id": "s1", "type": "extract", "worker": "a", "depends_on": []},
        {"id": "s2", "type": "summarize", "worker": "b", "depends_on": ["s1"]},
        {"id": "s3", "type": "translate", "worker": "c", "depends_on": ["s2"]}]


def test_policy_rows_and_curve_series_cut_the_off_policy_report_for_the_page():
    from outcome_fixtures import TruthPlanner

    from orchestai_core.catalogue import load_catalogue
    from orchestai_core.outcomes.report import policy_report
    from workbench.services.evaluation import curve_series, policy_rows

    logs = list(generate_logs(30, seed=4))
    report = policy_report(TruthPlanner(logs, load_catalogue()), logs, weights=(0.0, 1.0), n_bootstrap=10)
    rows = policy_rows(report)
    assert len(rows) == 3 * 4  # three metrics × IPS, SNIPS, DR and the logging policy's mean
    dr = next(r for r in rows if r["metric"] == "success rate" and r["estimator"] == "DR")
    assert dr["policy"] == "learned" and dr["estimate"] == report.value("success", "dr").estimate
    assert [r["policy"] for r in rows if r["estimator"] == "logged mean"] == ["logging policy"] * 3
    series = curve_series(report)
    assert series["sweep"]["label"] == ["w=0", "w=1"]
    assert series["references"]["kind"][-2:] == ["uniform", "logging"]
    assert series["references"]["effective_steps"][-1] == report.steps
    assert series["sweep"]["effective_steps"] == [p.effective_steps for p in report.curve.points[:2]]
    assert len(series["references"]["label"]) == len(report.worker_names) + 2


def test_the_policys_own_choices_get_a_row_when_the_logs_record_choice_prob():
    logged = _report([_case("p", GOLD)])
    assert "Worker accuracy on the logging policy's own choices (choice_prob > 0.5)" not in \
        {r["metric"] for r in metrics_rows(logged)}
    predicted = Graph(GOLD.types, ["a", "x", "c"], GOLD.parents)
    case = Case("q", "instruction q", "tpl", predicted, GOLD, score(predicted, GOLD, [0.9, 0.9, 0.02]), True)
    rows = {r["metric"]: r for r in metrics_rows(_report([case], {"worker_accuracy_preferred": 0.25}))}
    own = rows["Worker accuracy on the logging policy's own choices (choice_prob > 0.5)"]
    assert own["model"] == pytest.approx(1 / 2) and own["nearest-neighbour baseline"] == 0.25
    assert own["target"] == "—" and rows["Worker accuracy (selection)"]["model"] == pytest.approx(2 / 3)


def test_an_evaluation_encodes_each_instruction_once_and_its_baseline_reads_that_pass(planner, examples, monkeypatch):
    encoder = type(planner.encoder)
    original, rows = encoder.frozen_states, []

    def counted(self, *args, **kwargs):
        rows.append(len(args[0] if args else kwargs["input_ids"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(encoder, "frozen_states", counted)
    report = evaluate_planner(planner, examples, batch_size=4)
    assert sum(rows) == len(examples)  # planned and baseline-embedded by one pass (once embedded twice)
    texts = [e.instruction for e in examples]
    _, vectors = planner.decode_and_embed(texts)
    assert torch.allclose(vectors, planner.embed(texts), atol=1e-5)  # the pass's vectors are `embed`'s
    rows.clear()
    assert nearest_neighbour_baseline(planner, examples) == report["baseline"]  # embedding them apart: the same
    assert sum(rows) == len(examples)


def test_the_baseline_copies_the_neighbours_that_planning_found(planner, examples):
    cases: list = []
    report = evaluate_planner(planner, examples, batch_size=4, cases=cases)
    found = [c.neighbour for c in cases]
    vectors = planner.embed([e.instruction for e in examples])
    indices, sims = planner.index.nearest(vectors, 1, [e.id for e in examples])
    assert found == [near[0] for near in indices]  # each plan's nearest, its own log left out
    assert [c.nearest for c in cases] == pytest.approx([s[0] for s in sims], abs=1e-5)
    assert nearest_neighbour_baseline(planner, examples, neighbours=found) == report["baseline"]
    other = [(row + 1) % len(planner.index) for row in found]  # it copies the rows it is given, not its own
    assert nearest_neighbour_baseline(planner, examples, neighbours=other) != report["baseline"]
    with pytest.raises(ValueError, match=f"got 1 nearest rows for {len(examples)} examples"):
        nearest_neighbour_baseline(planner, examples, neighbours=found[:1])


def test_the_share_of_unfamiliar_logs_counts_those_below_the_floor_and_says_so():
    from orchestai_core.evaluate import mostly_unfamiliar, unfamiliar_message

    cases = [replace(_case(str(i), GOLD), nearest=s) for i, s in enumerate([0.2, 0.55, 0.56, 0.9, None])]
    share = unfamiliar_share(cases, 0.5567)
    assert share == {"logs": 2, "of": 4, "floor": 0.557}  # the case of unknown similarity is not counted
    assert unfamiliar_message(share) == ("2 of 4 logs (50%) are unlike the requests the planner learnt from: their "
                                         "nearest training request is less similar than 0.56 (cosine), which 99 in "
                                         "100 of its own requests reach")
    assert mostly_unfamiliar(share)
    assert not mostly_unfamiliar({"logs": 1, "of": 40, "floor": 0.5})  # a sample of its own domains has a few
    assert unfamiliar_share(cases, None) is None and unfamiliar_share(cases[4:], 0.5) is None
    assert unfamiliar_message(None) is None and not mostly_unfamiliar(None)
