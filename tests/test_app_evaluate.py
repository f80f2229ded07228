"""The Evaluate page through AppTest: evaluate a checkpoint on accepted, held-out or uploaded logs in the
background, then read the metrics against the targets, the confusion matrix, templates and worst cases."""

import json
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from orchestai_core.evaluate import evaluate_planner
from orchestai_core.outcomes.report import THIN_EFFECTIVE_STEPS
from orchestai_core.synth import generate_logs
from orchestai_core.training_data import example_from_log
from workbench.services.evaluation import EvaluationJob
from workbench.services.planning import get_planner

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "workbench" / "app.py")
PAGE = str(ROOT / "pages" / "evaluate.py")


@pytest.fixture
def home(workbench_home):
    return workbench_home


@pytest.fixture
def checkpoint(workbench_checkpoint):
    return Path(workbench_checkpoint)


@pytest.fixture
def store(workbench_store):
    return workbench_store


def _page():
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _evaluate(at, dataset):
    at.radio(key="eval_dataset").set_value(dataset).run()
    at.button(key="evaluate").click().run()
    assert not at.exception
    job = at.session_state["evaluation_job"]
    assert job.wait(120)
    return at.run()


TABLES = ("metrics", "policy", "templates", "worst")  # the page's tables, in order (policy: when estimated)


def _frame(at, name):
    tables = [t for t in TABLES if t != "policy" or len(at.dataframe) == len(TABLES)]
    assert len(at.dataframe) == len(tables)
    return at.dataframe[tables.index(name)].value


def test_page_is_registered_in_the_navigation(checkpoint):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/evaluate.py").run()
    assert not at.exception
    assert at.title[0].value == "Evaluate"
    assert at.radio(key="eval_dataset").value == "held_out"
    assert at.radio(key="eval_dataset").options == ["held-out logs of the checkpoint's run", "accepted logs",
                                                    "an uploaded JSONL file"]


def test_without_a_checkpoint_the_page_says_so(home):
    at = _page()
    assert not at.exception
    assert "There is no planner checkpoint in" in at.info[0].value
    assert not at.button


def test_evaluation_on_accepted_logs_shows_metrics_targets_and_errors(checkpoint, store):
    logs = list(generate_logs(8, seed=21))
    store.logs.add(logs)
    store.logs.set_review([log["id"] for log in logs[:6]], "accepted", "ann")
    at = _evaluate(_page(), "accepted")
    assert not at.exception
    expected = evaluate_planner(get_planner(checkpoint), [example_from_log(log) for log in logs[:6]])
    metrics = _frame(at, "metrics").set_index("metric")
    assert metrics.loc["Node-F1 (decomposition)", "model"] == pytest.approx(expected["node_f1"])
    assert metrics.loc["DAG validity", "model"] == pytest.approx(expected["dag_validity"])
    assert metrics.loc["DAG validity", "target"] == "≥ 95%"
    assert metrics.loc["Worker accuracy (selection)", "target"] == "75%–85%"
    own = metrics.loc["Worker accuracy on the logging policy's own choices (choice_prob > 0.5)"]  # synthetic logs
    assert own["model"] == pytest.approx(expected["worker_accuracy_preferred"])  # record choice_prob
    assert own["nearest-neighbour baseline"] == pytest.approx(expected["baseline"]["worker_accuracy_preferred"])
    assert metrics.loc["Edge-F1 (dependencies)", "nearest-neighbour baseline"] == pytest.approx(
        expected["baseline"]["edge_f1"])
    assert "6 logs (accepted logs)" in at.caption[0].value.replace("\\", "")
    # whether the figures are the model's plans or the consensus vote's, as `orchestai eval` says it
    planner = get_planner(checkpoint)
    words = planner.consensus.describe()
    order = planner.order_note  # the step order the run fitted (`model/ordering.py`), said after it
    assert order is not None and order.startswith(("on (", "off ("))
    assert any(c.value.replace("\\", "") == f"Consensus decoding: {words}; step order {order}" for c in at.caption)
    templates = _frame(at, "templates")
    assert sorted(templates["template"]) == sorted(expected["per_template"])
    assert list(templates["error"]) == sorted(templates["error"], reverse=True)
    # the reliability diagram and the cost–quality curve, then the confusion matrix
    assert len(at.get("plotly_chart")) == 2 + (1 if expected["worker_confusion"] else 0)
    worst = _frame(at, "worst")
    assert sorted(worst["log"]) == sorted(log["id"] for log in logs[:6])
    opened = worst["log"][0]
    assert next(log["instruction"] for log in logs if log["id"] == opened) in [t.value for t in at.text]
    assert len(at.get("html")) == 2  # the graphs predicted and gold, side by side


def test_a_running_evaluation_shows_its_progress_then_its_results(checkpoint, store):
    class Gated:
        """The tiny planner, held at its first batch until the test opens the gate."""

        def __init__(self, planner):
            self.planner, self.gate = planner, threading.Event()

        def decode_and_embed(self, texts, leave_out=None):
            assert self.gate.wait(60)
            return self.planner.decode_and_embed(texts, leave_out=leave_out)

        def __getattr__(self, name):
            return getattr(self.planner, name)

    planner = Gated(get_planner(checkpoint))
    examples = [example_from_log(log) for log in generate_logs(5, seed=8)]
    at = _page()
    at.session_state["evaluation_job"] = EvaluationJob(planner, examples, "tiny", "five logs").start()
    at.run()
    assert not at.exception
    (bar,) = at.get("progress")
    assert bar.proto.value == 0 and bar.proto.text == "Planning log 0 of 5…"
    assert at.button(key="evaluate").disabled  # one evaluation at a time
    assert not at.dataframe
    planner.gate.set()
    assert at.session_state["evaluation_job"].wait(120)
    at.run()
    assert not at.get("progress") and not at.button(key="evaluate").disabled
    assert "5 logs (five logs)" in at.caption[0].value.replace("\\", "")


def test_no_accepted_logs_is_a_clear_message(checkpoint, store):
    store.logs.add(generate_logs(3, seed=2))
    at = _page()
    at.radio(key="eval_dataset").set_value("accepted").run()
    at.button(key="evaluate").click().run()
    assert "There are no accepted logs yet" in at.error[0].value
    assert "evaluation_job" not in at.session_state


def test_held_out_logs_of_the_run_are_evaluated(checkpoint, store):
    validation = set(get_planner(checkpoint).val_ids)
    logs = [*generate_logs(48, seed=11), *generate_logs(3, seed=77)]  # the checkpoint's data, and new logs
    store.logs.add(logs)
    at = _evaluate(_page(), "held_out")
    held = [log["id"] for log in logs if log["id"] in validation]
    worst = list(_frame(at, "worst")["log"])
    assert len(worst) == min(10, len(held)) and set(worst) <= set(held)
    assert f"{len(held)} logs (held-out logs of the checkpoint" in at.caption[0].value.replace("\\", "")


def test_an_uploaded_file_is_evaluated_and_a_bad_line_named(checkpoint, spec_example):
    at = _page()
    at.radio(key="eval_dataset").set_value("upload").run()
    at.file_uploader(key="eval_upload").set_value(("gold.jsonl", b"{oops\n", "application/octet-stream")).run()
    at.button(key="evaluate").click().run()
    assert at.error[0].value.replace("\\", "").startswith("gold.jsonl: not a log file: its only line is not a JSON "
                                                          "object (line 1: invalid JSON")
    good = (json.dumps(spec_example) + "\n").encode()
    at.file_uploader(key="eval_upload").set_value(("gold.jsonl", good * 2, "application/octet-stream")).run()
    at = _evaluate(at, "upload")
    assert "2 logs (gold.jsonl)" in at.caption[0].value.replace("\\", "")
    assert list(_frame(at, "templates")["template"]) == ["doc-summarize-translate"]
    assert not at.warning  # the spec example's instruction fits


def test_an_upload_with_a_bad_line_is_evaluated_without_it_and_taskbench_rows_are_read(checkpoint, spec_example):
    at = _page()
    at.radio(key="eval_dataset").set_value("upload").run()
    good = (json.dumps(spec_example) + "\n").encode()
    at.file_uploader(key="eval_upload").set_value(("gold.jsonl", good + b"{oops\n" + good,
                                                   "application/octet-stream")).run()
    at = _evaluate(at, "upload")
    assert "2 logs (gold.jsonl)" in at.caption[0].value.replace("\\", "")
    warning = at.warning[0].value.replace("\\", "")
    assert warning.startswith("gold.jsonl: 1 invalid log(s) skipped: line 2: invalid JSON")
    rows = [{"user_request": "Write the file, then change it.", "task_nodes": [{"task": "file_write"},
                                                                               {"task": "file_modify"}],
             "task_links": [{"source": "file_write", "target": "file_modify"}], "task_steps": []}] * 3
    at.radio(key="eval_format").set_value("taskbench").run()
    at.file_uploader(key="eval_upload").set_value(("rows.jsonl", "\n".join(json.dumps(r) for r in rows).encode(),
                                                   "application/octet-stream")).run()
    at = _evaluate(at, "upload")
    assert "3 logs (rows.jsonl)" in at.caption[0].value.replace("\\", "")
    # no line skipped; the only warning says these file-editing rows are unlike the planner's training requests
    assert [w.icon for w in at.warning] == [":material/explore_off:"]


def test_an_instruction_longer_than_the_planner_reads_is_named(checkpoint, spec_example):
    long = {**spec_example, "instruction": "Summarise the report, then translate it into French. " * 8}
    at = _page()
    at.radio(key="eval_dataset").set_value("upload").run()
    at.file_uploader(key="eval_upload").set_value(("gold.jsonl", (json.dumps(long) + "\n").encode(),
                                                   "application/octet-stream")).run()
    at = _evaluate(at, "upload")
    assert [w.value.replace("\\", "") for w in at.warning] == [
        "1 of 1 instructions are longer than the encoder reads (64 tokens, encoder.max_length) and are truncated: "
        f"{spec_example['id']}"]


def _policy_logs(store, n=10, seed=23):
    logs = list(generate_logs(n, seed=seed))
    store.logs.add(logs)
    store.logs.set_review([log["id"] for log in logs], "accepted", "ann")
    return logs


def test_the_off_policy_section_shows_estimates_reliability_and_the_curve(checkpoint, store):
    from orchestai_core.outcomes.report import policy_report

    logs = _policy_logs(store)
    at = _page()
    at.number_input(key="eval_cost_weight").set_value(1.0).run()
    at = _evaluate(at, "accepted")
    assert not at.exception
    assert "Worker selection, off-policy" in [h.value for h in at.header]
    table = _frame(at, "policy")
    expected = policy_report(get_planner(checkpoint), logs, cost_weight=1.0, n_bootstrap=200)
    dr = table[(table["metric"] == "success rate") & (table["estimator"] == "DR")].iloc[0]
    assert dr["policy"] == "learned"
    assert dr["estimate"] == pytest.approx(expected.value("success", "dr").estimate)
    assert dr["95 % low"] <= dr["estimate"] <= dr["95 % high"]
    assert set(table["estimator"]) == {"IPS", "SNIPS", "DR", "logged mean"}
    assert set(table[table["policy"] == "logging policy"]["estimator"]) == {"logged mean"}
    ece = {m.label: m.value for m in at.metric}
    assert ece["ECE (every step once)"] == f"{expected.calibration['plain'].ece:.3f}"
    assert "ECE (weighted by 1/choice_prob)" in ece
    reliability, curve = (json.loads(c.proto.spec) for c in at.get("plotly_chart")[:2])
    assert reliability["layout"]["title"]["text"].startswith("Reliability")
    assert "perfectly calibrated" in [t["name"] for t in reliability["data"]]
    names = [t["name"] for t in curve["data"]]
    assert names == ["learned policy (DR)", "single worker", "random choice", "logging policy"]
    sweep = curve["data"][0]
    assert len(sweep["x"]) == len([p for p in expected.curve.points if p.kind == "weight"])
    assert sweep["error_y"]["array"] and sweep["error_x"]["arrayminus"]
    assert sweep["customdata"] == [p.effective_steps for p in expected.curve.points if p.kind == "weight"]
    assert "effective logged steps" in sweep["hovertemplate"]
    assert sweep["marker"]["symbol"] == ["circle-open" if p.effective_steps < THIN_EFFECTIVE_STEPS else "circle"
                                         for p in expected.curve.points if p.kind == "weight"]
    assert {"circle", "circle-open"} <= set(sweep["marker"]["symbol"])  # ten logs: some weights rest on few steps
    assert any(f"rest on about {expected.effective_steps:,.0f} effective logged steps" in c.value for c in at.caption)
    assert set(curve["data"][1]["text"]) == set(get_planner(checkpoint).worker_names)
    assert any("cost weight 1," in c.value for c in at.caption)


def test_logs_without_choice_prob_say_what_stands_in_for_it(checkpoint, store):
    logs = list(generate_logs(6, seed=29))
    for log in logs:
        for task in log["subtasks"]:
            task.pop("choice_prob", None)
    store.logs.add(logs)
    store.logs.set_review([log["id"] for log in logs], "accepted", "ann")
    at = _evaluate(_page(), "accepted")
    assert any("No step carries choice_prob" in i.value.replace("\\", "") for i in at.info)


def test_a_checkpoint_without_outcome_model_says_so_in_the_section(checkpoint, store, monkeypatch):
    _policy_logs(store, n=4)
    monkeypatch.setattr("workbench.services.evaluation.has_outcome_model", lambda planner: False)
    at = _evaluate(_page(), "accepted")
    assert any("has no outcome model" in i.value for i in at.info)
    assert len(at.dataframe) == 3


@pytest.mark.parametrize("logs, warned", [(30, True), (1, False)])
def test_the_evaluate_page_warns_when_most_logs_are_unlike_the_training_requests(logs, warned):
    def script(logs):
        from orchestai_core.dag import Graph
        from orchestai_core.evaluate import Case, score, summarise_cases
        from workbench.components.eval_views import metrics_view
        from workbench.services.evaluation import EvaluationReport

        gold = Graph(["extract"], ["a"], [[]])
        cases = [Case(str(i), "x", None, gold, gold, score(gold, gold), True, 0.3) for i in range(40)]
        metrics_view(EvaluationReport("ckpt", "uploaded", summarise_cases(cases), {}, cases,
                                      unfamiliar={"logs": logs, "of": 40, "floor": 0.556}))

    at = AppTest.from_function(script, default_timeout=30, args=(logs,)).run()
    assert not at.exception
    said = f"{logs} of 40 logs ({logs / 40:.0%}) are unlike the requests the planner learnt from"
    warnings = [w.value.replace("\\", "") for w in at.warning]
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any(said in w and "requests from elsewhere" in w for w in warnings) == warned
    assert any(said in c for c in captions) == (not warned)
