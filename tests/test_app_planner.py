"""The Planner page through AppTest: plan an instruction, re-rank workers with the slider, compare two
checkpoints, send a plan to curation, and refuse bad input with a clear message."""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from orchestai_core.planner_api import Planner
from orchestai_core.store import LogFilter
from orchestai_core.synth import generate_logs
from workbench.components.dag_view import embedded_page
from workbench.components.plan_view import usd
from workbench.components.text import md_escape
from workbench.services.planning import EXAMPLES, _load, get_planner, subtask_rows

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "workbench" / "app.py")
PAGE = str(ROOT / "pages" / "planner.py")
XSS = "Translate <img src=x onerror=alert(1)> **now** into French"


@pytest.fixture
def home(workbench_home):
    return workbench_home


@pytest.fixture
def trained(home, workbench_checkpoint):
    """The home with the tiny checkpoint as its best model."""
    return home


@pytest.fixture
def store(workbench_store):
    return workbench_store


def _page():
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _plan(at, text):
    at.text_area(key="planner_text").set_value(text)
    at.button(key="plan").click().run()
    assert not at.exception
    return at


def _dag_nodes(graph):
    data = re.search(r"const DATA = (.*?);\n", embedded_page(graph.proto.body)).group(1)
    return [node["id"] for node in json.loads(data)["nodes"]]


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _badges(at):
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_page_is_registered_in_the_navigation(trained):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/planner.py").run()
    assert not at.exception
    assert at.title[0].value == "Planner"
    assert "press **Plan**" in at.info[0].value


def test_without_a_checkpoint_the_page_says_so_and_offers_a_quick_run(home):
    at = _page()
    assert not at.exception
    assert "There is no planner checkpoint in" in at.info[0].value
    assert at.button(key="quick_train").label == "Start a quick training run"
    assert not at.text_area


def test_plan_shows_the_dag_the_table_totals_and_badges(trained):
    at = _plan(_page(), EXAMPLES[0])
    expected = get_planner(trained / "checkpoints" / "phase1_best_model.pth").plan(EXAMPLES[0])
    table = at.dataframe[0].value
    assert list(table["step"]) == [t["id"] for t in expected["subtasks"]]
    assert list(table["worker"]) == [t["worker"] for t in expected["subtasks"]]
    assert list(table["step"][table["critical path"]]) == expected["critical_path"]
    assert _dag_nodes(at.get("html")[0]) == list(table["step"])
    metrics = _metrics(at)
    assert metrics["Steps"] == str(len(expected["subtasks"]))
    assert metrics["Est. cost"] == usd(expected["est_cost_usd"])
    assert metrics["Est. latency (critical path)"] == f"{expected['est_latency_ms'] / 1000:.2f} s"
    badges = _badges(at)
    assert any("valid DAG" in b for b in badges)
    assert any(re.search(r"planned in [\d,]+ ms", b) for b in badges)
    assert EXAMPLES[0] in [t.value for t in at.text]


def test_a_truncated_instruction_gets_a_badge(trained):
    assert not any("truncated" in b for b in _badges(_plan(_page(), EXAMPLES[0])))
    at = _plan(_page(), "Translate the user manual into French, then email it to Maria. " * 6)  # over 64 tokens
    assert any("instruction truncated" in b for b in _badges(at))


def test_a_plan_that_follows_a_training_request_says_which(trained, workbench_checkpoint):
    from dataclasses import replace

    from orchestai_core.checkpoints import load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(workbench_checkpoint)
    save_checkpoint(replace(checkpoint, consensus={**checkpoint.consensus, "model_weight": None}),
                    workbench_checkpoint)
    _load.clear()
    assert not any("follows the plan" in b for b in _badges(_plan(_page(), EXAMPLES[0])))
    # the nearest training plan always wins the vote (unless the model's own plan is the same)
    forced = {**checkpoint.consensus, "model_weight": 0.0, "k": 1}
    save_checkpoint(replace(checkpoint, consensus=forced), workbench_checkpoint)
    _load.clear()
    alone = Planner.load(workbench_checkpoint, "cpu", consensus=False)
    long = [p for p in checkpoint.train_plans if len(p["instruction"]) > 80]
    source = next(p["instruction"] for p, d in zip(long, alone.decode_batch([p["instruction"] for p in long]))
                  if (d.graph.types, d.graph.parents) != (p["types"], p["parents"]))
    badges = _badges(_plan(_page(), source))
    shown = md_escape(source[:80].rstrip() + "…")
    assert any(f"follows the plan of a training request: {shown}" in b for b in badges), badges


def test_an_example_fills_the_instruction_box(trained):
    at = _page()
    at.selectbox(key="planner_example").set_value(EXAMPLES[3]).run()
    assert at.text_area(key="planner_text").value == EXAMPLES[3]
    assert not at.dataframe  # nothing is planned before Plan is pressed


@pytest.mark.parametrize("text, message", [
    ("", "The instruction is empty"),
    ("   \n\t ", "The instruction is empty"),
    ("x" * 2500, "The instruction is 2,500 characters long; at most 2,000 are accepted"),
])
def test_bad_input_gets_a_clear_message_and_no_plan(trained, text, message):
    at = _plan(_page(), text)
    assert any(message in w.value.replace("\\", "") for w in at.warning)
    assert not at.dataframe and not at.get("html")


def test_instruction_text_is_shown_as_text(trained):
    at = _plan(_page(), XSS)
    assert XSS in [t.value for t in at.text]
    assert not any("<img" in m.value for m in at.markdown)
    srcdoc = embedded_page(at.get("html")[0].proto.body)
    assert "<img" not in srcdoc.split("</script>", 1)[1]


def test_cost_slider_re_ranks_workers_and_updates_the_estimates(trained):
    planner = get_planner(trained / "checkpoints" / "phase1_best_model.pth")
    quality, cheap = (subtask_rows(planner.plan(EXAMPLES[2], cost_weight=w)) for w in (0.0, 5.0))
    assert quality != cheap  # the slider has something to change on this instruction
    at = _plan(_page(), EXAMPLES[2])
    assert at.dataframe[0].value["worker"].tolist() == [r["worker"] for r in quality]
    at.slider(key="planner_cost_weight").set_value(5.0).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["worker"].tolist() == [r["worker"] for r in cheap]
    assert table["est. cost (USD)"].tolist() == [r["est. cost (USD)"] for r in cheap]
    expected = planner.plan(EXAMPLES[2], cost_weight=5.0)
    assert _metrics(at)["Est. cost"] == usd(expected["est_cost_usd"])


def test_decoding_choice_plans_with_that_beam_and_says_so(trained):
    planner = get_planner(trained / "checkpoints" / "phase1_best_model.pth")
    at = _plan(_page(), EXAMPLES[3])
    assert any("beam 3" in b for b in _badges(at))  # the checkpoint's own width by default
    at.selectbox(key="planner_beam").set_value(1).run()
    assert not at.exception
    greedy = planner.plan(EXAMPLES[3], beam=1)
    assert at.dataframe[0].value["step"].tolist() == [t["id"] for t in greedy["subtasks"]]
    assert at.dataframe[0].value["worker"].tolist() == [t["worker"] for t in greedy["subtasks"]]
    assert any("greedy decoding" in b for b in _badges(at))
    assert planner.beam == 3  # the cached planner keeps its own width


def test_a_damaged_checkpoint_is_reported_not_raised(home):
    (home / "checkpoints").mkdir()
    (home / "checkpoints" / "phase1_best_model.pth").write_bytes(b"half-written")
    at = _plan(_page(), EXAMPLES[0])
    assert "not a readable checkpoint" in at.warning[0].value.replace("\\", "")
    assert not at.dataframe


def test_a_plan_without_steps_says_so_and_cannot_be_curated():
    def script():
        from orchestai_core.store import Store
        from workbench.components.plan_actions import plan_actions
        from workbench.components.plan_view import show_plan
        from workbench.services.planning import Planned

        empty = Planned({"id": "plan-0", "instruction": "Do nothing", "subtasks": [], "est_cost_usd": 0.0,
                         "est_latency_ms": 0.0, "critical_path": [], "meta": {}}, 2.0)
        show_plan(empty, key="t")
        plan_actions(Store(":memory:"), empty, "ckpt", 0.0, key="t")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception
    assert "planned no step" in at.warning[0].value
    assert at.button(key="curate_t").disabled
    assert not at.get("html")


def test_a_plan_without_workers_shows_its_steps_and_says_why_it_has_no_worker_or_estimate():
    """A planner trained on logs that assign no worker (TaskBench rows) plans steps and links only
    (`Planner._steps_only`): the page draws them, shows no estimate and says why, and curation takes the plan."""
    def script():
        from orchestai_core.planner_api import NO_WORKERS
        from orchestai_core.store import Store
        from workbench.components.plan_actions import plan_actions
        from workbench.components.plan_view import show_plan
        from workbench.services.planning import Planned

        steps = [{"id": "s1", "type": "flight_search", "worker": None, "depends_on": [], "worker_probs": {},
                  "est_cost_usd": None, "est_latency_ms": None},
                 {"id": "s2", "type": "book_flight", "worker": None, "depends_on": ["s1"], "worker_probs": {},
                  "est_cost_usd": None, "est_latency_ms": None}]
        plan = Planned({"id": "plan-1", "instruction": "Book a flight to Rome", "subtasks": steps,
                        "est_cost_usd": None, "est_latency_ms": None, "critical_path": [],
                        "meta": {"selection": "none", "selection_note": NO_WORKERS, "beam": 3}}, 20.0)
        show_plan(plan, key="t")
        plan_actions(Store(":memory:"), plan, "ckpt", 0.0, key="t")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {"Steps": "2", "Est. cost": "—",
                                                     "Est. latency (critical path)": "—",
                                                     "Cost on the critical path": "—"}
    assert any("No workers chosen" in c.value for c in at.caption)
    assert list(at.dataframe[0].value["type"]) == ["flight_search", "book_flight"]
    assert at.dataframe[0].value["worker"].isna().all()
    assert at.get("html") and not at.button(key="curate_t").disabled


def _with_a_steps_only_checkpoint(home) -> tuple[Path, Path]:
    """(the home's best checkpoint, a copy of it whose training logs assign no worker: it chooses none)."""
    from dataclasses import replace

    from orchestai_core.checkpoints import load_checkpoint, save_checkpoint

    best = home / "checkpoints" / "phase1_best_model.pth"
    checkpoint = load_checkpoint(best)
    (home / "checkpoints" / "run-2").mkdir()
    steps_only = home / "checkpoints" / "run-2" / "phase1_best_model.pth"
    save_checkpoint(replace(checkpoint, train_plans=[{**p, "workers": [None] * len(p["types"])}
                                                     for p in checkpoint.train_plans]), steps_only)
    return best, steps_only


def test_weights_and_budgets_are_disabled_for_a_planner_that_chooses_no_worker(trained):
    """A checkpoint whose training logs assign no worker plans steps and links only: its page disables the
    quality/cost and speed weights and the budgets and says why; compared with one that chooses workers,
    they apply again."""
    best, steps_only = _with_a_steps_only_checkpoint(trained)
    stamp = best.stat().st_mtime + 60
    os.utime(steps_only, (stamp, stamp))  # the newest: the page's first choice
    assert not get_planner(steps_only).plans_workers and get_planner(best).plans_workers
    at = _plan(_page(), EXAMPLES[1])
    assert at.selectbox(key="planner_checkpoint").value == str(steps_only)
    keys = ("planner_cost_weight", "planner_latency_weight")
    assert all(at.slider(key=k).disabled for k in keys)
    assert all(at.number_input(key=k).disabled for k in ("planner_budget_usd", "planner_budget_latency_ms"))
    assert any("chooses no worker" in c.value for c in at.caption)
    assert at.dataframe[0].value["worker"].isna().all()
    at.toggle(key="planner_compare").set_value(True).run()
    assert not at.exception and at.selectbox(key="planner_checkpoint_b").value == str(best)
    assert not any(at.slider(key=k).disabled for k in keys)
    assert not any("chooses no worker" in c.value for c in at.caption)
    assert at.dataframe[0].value["worker"].isna().all() and at.dataframe[1].value["worker"].notna().all()


def test_compare_two_checkpoints_side_by_side(trained):
    (trained / "checkpoints" / "run-2").mkdir()
    newer = trained / "checkpoints" / "run-2" / "phase1_best_model.pth"
    shutil.copy(trained / "checkpoints" / "phase1_best_model.pth", newer)
    stamp = newer.stat().st_mtime + 60
    os.utime(newer, (stamp, stamp))
    at = _page()
    assert at.selectbox(key="planner_checkpoint").value == str(newer)  # the newest best by default
    at.toggle(key="planner_compare").set_value(True).run()
    assert at.selectbox(key="planner_checkpoint_b").value == str(trained / "checkpoints" / "phase1_best_model.pth")
    _plan(at, EXAMPLES[1])
    assert len(at.get("html")) == 2 and len(at.dataframe) == 2
    assert at.dataframe[0].value.equals(at.dataframe[1].value)  # the same weights plan the same
    assert [s.value for s in at.subheader][0].startswith("run 2 · best")
    assert any(c.value.startswith("Second against first: node-F1 1.00 · edge-F1 1.00") for c in at.caption)


def test_send_to_curation_stores_a_pending_log_once(trained, store):
    at = _plan(_page(), EXAMPLES[4])
    at.button(key="curate_a").click().run()
    assert not at.exception
    ids = store.logs.ids(LogFilter(source="planner"))
    assert len(ids) == 1
    row, log = store.logs.row(ids[0]), store.logs.get(ids[0])
    assert (row["review_status"], log["instruction"]) == ("pending", EXAMPLES[4])
    assert [t["id"] for t in log["subtasks"]] == list(at.dataframe[0].value["step"])
    assert ids[0].replace("-", "\\-") in at.success[0].value
    assert not [b for b in at.button if b.key == "curate_a"]  # sent: the button gives way to the log id
    at.run()
    assert store.logs.ids(LogFilter(source="planner")) == ids


def test_quick_run_without_logs_says_why_in_one_line(home, store):
    at = _page()
    at.button(key="quick_train").click().run()
    assert not at.exception
    message = at.error[0].value.replace("\\", "")
    assert "gives 0 log(s)" in message and "\n" not in message
    assert [r["status"] for r in store.runs.list()] == ["failed"]
    assert at.button(key="quick_train")  # it can be tried again


def test_quick_run_trains_a_checkpoint_and_the_page_opens_the_planner(home, store):
    store.logs.add(generate_logs(16, seed=4))
    at = _page()
    at.button(key="quick_train").click().run()
    assert not at.exception
    (run,) = store.runs.list()
    assert f"Training run {run['id']} is" in at.info[-1].value
    deadline = time.monotonic() + 600  # a bound on waiting, not a measurement
    while store.runs.get(run["id"])["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    finished = store.runs.get(run["id"])
    assert finished["status"] == "completed", finished.get("error")
    at.run()
    assert not at.exception
    assert at.selectbox(key="planner_checkpoint").value == str(home / "checkpoints" / f"run-{run['id']}" /
                                                              "phase1_best_model.pth")
    _plan(at, EXAMPLES[0])
    assert len(at.dataframe[0].value) == len(_dag_nodes(at.get("html")[0]))


def test_dollar_amounts_keep_fractions_of_a_cent_visible():
    assert (usd(0.00004), usd(0.0123), usd(0.0)) == ("$0.000040", "$0.0123", "$0.000000")


def _bundle(home, checkpoint, node_f1):
    """A bundled planner in the home, with held-out figures beside it as `make planner` writes them."""
    folder = home / "bundled"
    folder.mkdir(exist_ok=True)
    shutil.copy(checkpoint, folder / "default_planner.pth")
    metrics = {"dag_validity": 1.0, "node_f1": node_f1, "edge_f1": 0.91, "exact_match": 0.8, "worker_accuracy": 0.93}
    (folder / "default_planner.json").write_text(json.dumps({
        "data": "orchestai synth --n 200 --seed 7", "logs": 200, "metrics": metrics,
        "baseline": {**metrics, "node_f1": 0.81, "edge_f1": 0.78}}))


def test_on_first_start_the_bundled_planner_plans_with_its_held_out_quality(home, tiny_checkpoint):
    _bundle(home, tiny_checkpoint, node_f1=0.97)
    at = _page()
    assert not at.exception and not any(b.key == "quick_train" for b in at.button)
    assert at.selectbox(key="planner_checkpoint").value.endswith("default_planner.pth")
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Held-out quality (200 fresh synthetic logs: orchestai synth --n 200 --seed 7)" in caption
    assert "node-F1 0.97" in caption and "copying the nearest training plan: node-F1 0.81" in caption
    _plan(at, EXAMPLES[0])
    assert _dag_nodes(at.get("html")[0])


def test_a_trained_best_checkpoint_is_preferred_to_the_bundled_one_and_shows_its_validation_quality(
        trained, tiny_checkpoint):
    _bundle(trained, tiny_checkpoint, node_f1=0.97)
    at = _page()
    assert not at.exception
    assert at.selectbox(key="planner_checkpoint").value.endswith(os.path.join("checkpoints", "phase1_best_model.pth"))
    planner = get_planner(trained / "checkpoints" / "phase1_best_model.pth")
    shown = " ".join([c.value for c in at.caption] + [w.value for w in at.warning]).replace("\\", "")
    assert f"its {len(planner.val_ids)} validation logs at its best epoch" in shown


def test_a_planner_whose_plans_are_mostly_wrong_says_so_plainly(home, tiny_checkpoint):
    _bundle(home, tiny_checkpoint, node_f1=0.08)
    at = _page()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "node-F1 0.08" in warning and "not worth demoing" in warning


def test_the_quality_cost_slider_drives_the_utility_selection_across_its_range(trained):
    planner = get_planner(trained / "checkpoints" / "phase1_best_model.pth")
    text = EXAMPLES[1]
    at = _plan(_page(), text)
    seen = []
    for weight in (0.0, 2.5, 5.0):
        at.slider(key="planner_cost_weight").set_value(weight).run()
        assert not at.exception
        expected = planner.plan(text, cost_weight=weight)
        table = at.dataframe[0].value
        assert table["worker"].tolist() == [t["worker"] for t in expected["subtasks"]]
        assert table["p(success)"].tolist() == [t["p_success"] for t in expected["subtasks"]]
        assert table["runs"].tolist() == [t["worker_outcomes"][t["worker"]]["logged_runs"]
                                          for t in expected["subtasks"]]
        for a, task in zip(table["alternative 1"], expected["subtasks"]):
            # another allowed worker's predicted success and cost; on a type the training logs ran one worker on,
            # the selector's next choice and its probability
            pattern = r".+ \(\d+%, \$[\d.]+\)" if len(task["worker_outcomes"]) > 1 else r".+ \(\d+%\)"
            assert re.fullmatch(pattern, a), (a, task["worker_outcomes"])
        assert _metrics(at)["Expected success"] == f"{expected['p_success']:.0%}"
        captions = [c.value.replace("\\", "") for c in at.caption]
        assert any("predicted outcome" in c and f"{weight:g} × relative cost" in c for c in captions)
        seen.append((tuple(table["worker"]), expected["est_cost_usd"]))
    assert seen[0][0] != seen[2][0] and seen[0][1] > seen[1][1] >= seen[2][1]


def test_a_cost_budget_keeps_the_plan_within_it_and_an_impossible_one_is_said(trained):
    planner = get_planner(trained / "checkpoints" / "phase1_best_model.pth")
    text = EXAMPLES[1]
    free = planner.plan(text)["est_cost_usd"]
    at = _plan(_page(), text)
    at.number_input(key="planner_budget_usd").set_value(free / 2).run()
    assert not at.exception and not any("No plan keeps the budget" in w.value for w in at.warning)
    expected = planner.plan(text, budget_usd=free / 2)
    assert expected["est_cost_usd"] <= free / 2 and _metrics(at)["Est. cost"] == usd(expected["est_cost_usd"])
    at.number_input(key="planner_budget_usd").set_value(0.0000001).run()
    assert any("No plan keeps the budget" in w.value for w in at.warning)


def test_weights_set_for_one_planner_are_cleared_for_one_that_chooses_no_worker(trained):
    """Weights and budgets left from a planner that chooses workers are cleared on one whose plans they cannot
    change: the page plans with what its widgets hold, and records it in the plan's meta and its export."""
    best, steps_only = _with_a_steps_only_checkpoint(trained)
    at = _page()
    at.selectbox(key="planner_checkpoint").set_value(str(best)).run()
    at.slider(key="planner_cost_weight").set_value(2.5)
    at.slider(key="planner_latency_weight").set_value(1.0)
    at.number_input(key="planner_budget_usd").set_value(0.01)
    at = _plan(at, EXAMPLES[1])
    assert at.slider(key="planner_cost_weight").value == 2.5 and not at.slider(key="planner_cost_weight").disabled
    at.selectbox(key="planner_checkpoint").set_value(str(steps_only)).run()
    assert not at.exception and any("chooses no worker" in c.value for c in at.caption)
    for key in ("planner_cost_weight", "planner_latency_weight"):
        assert at.slider(key=key).disabled and at.slider(key=key).value == 0.0, key
    for key in ("planner_budget_usd", "planner_budget_latency_ms"):
        assert at.number_input(key=key).disabled and at.number_input(key=key).value == 0.0, key
    assert at.session_state["planner_cost_weight"] == 0.0


def test_a_planner_trained_with_another_numerals_reader_says_its_plans_may_differ(home, tiny_checkpoint):
    from dataclasses import replace

    from orchestai_core.checkpoints import load_checkpoint, save_checkpoint
    from orchestai_core.model.numerals import READER_VERSION

    checkpoint = load_checkpoint(tiny_checkpoint)
    assert checkpoint.numerals_version == READER_VERSION  # training records the reader it read with
    (home / "checkpoints").mkdir()
    save_checkpoint(replace(checkpoint, numerals_version=READER_VERSION - 1),
                    home / "checkpoints" / "phase1_best_model.pth")
    at = _page()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert f"numerals reader of version {READER_VERSION - 1}" in warning and "train it again" in warning
    _plan(at, EXAMPLES[0])  # it still plans
    assert _dag_nodes(at.get("html")[0])
    shutil.copy(tiny_checkpoint, home / "checkpoints" / "phase1_best_model.pth")  # its own reader: nothing to say
    _load.clear()
    at = _page()
    assert not any("numerals reader" in w.value for w in at.warning)


@pytest.mark.parametrize("similarity", [0.31, 0.74])
def test_a_plan_for_a_request_unlike_the_training_requests_is_called_out_with_the_nearest_one(similarity):
    def script(similarity):
        from workbench.components.plan_view import show_plan
        from workbench.services.planning import Planned

        steps = [{"id": "s1", "type": "summarize", "worker": "gpt-4o", "depends_on": [], "worker_probs": {},
                  "est_cost_usd": 0.001, "est_latency_ms": 900.0}]
        nearest = {"similarity": similarity, "instruction": "Summarise the *minutes* <b>now</b>",
                   "familiar_floor": 0.556, "unfamiliar": similarity < 0.556}
        show_plan(Planned({"id": "plan-1", "instruction": "Book a flight to Rome", "subtasks": steps,
                           "est_cost_usd": 0.001, "est_latency_ms": 900.0, "critical_path": ["s1"],
                           "meta": {"nearest": nearest}}, 20.0), key="t")

    at = AppTest.from_function(script, default_timeout=30, args=(similarity,)).run()
    assert not at.exception
    warnings = [w.value.replace("\\", "") for w in at.warning]  # as read: without Markdown's escapes
    if similarity > 0.556:
        assert not warnings and not any("Nearest training request" in c.value for c in at.caption)
        return
    assert len(warnings) == 1 and "unlike those the planner learnt from" in warnings[0]
    assert "0.31 similar" in warnings[0] and "at least 0.56 similar" in warnings[0]
    shown = next(c.value for c in at.caption if c.value.startswith("Nearest training request"))
    assert shown == "Nearest training request: " + md_escape("Summarise the *minutes* <b>now</b>")
    assert at.dataframe  # the plan is still shown in full
