"""The Train and Runs pages through AppTest, with real tiny runs launched in the background."""

import os
import signal
from pathlib import Path

import pytest
from planner_fixtures import kill_active_runs, wait_for
from streamlit.testing.v1 import AppTest

from orchestai_core.config import load_config
from orchestai_core.store import Store
from orchestai_core.synth import generate_logs
from workbench.services.processes import is_training_alive
from workbench.services.training import TrainRequest, launch_run

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "workbench" / "app.py")
TRAIN = str(ROOT / "pages" / "train.py")
RUNS = str(ROOT / "pages" / "runs.py")


@pytest.fixture
def workbench(workbench_home):
    config = load_config()
    store = Store.open(config["paths"]["database"])
    store.logs.add(generate_logs(30, seed=2))
    yield store, config
    kill_active_runs(store)
    store.close()


def wait_ended(store, run_id):
    wait_for(lambda: store.runs.get(run_id)["status"] not in ("queued", "running"))
    wait_for(lambda: not is_training_alive(store.runs.get(run_id)["pid"]), timeout=60)


def long_run(store, config, epochs=400):
    request = TrainRequest.from_config(config)
    request.epochs, request.device = epochs, "cpu"
    run_id = launch_run(store, config, request)
    wait_for(lambda: (store.runs.get(run_id)["epoch"] or 0) >= 1)
    return run_id


def _page(path=TRAIN):
    return AppTest.from_file(path, default_timeout=60).run()


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_train_page_is_registered_and_its_form_shows_the_config_defaults(workbench):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception and at.title[0].value == "Train"
    assert at.number_input(key="train_epochs").value == 2  # the test config's num_epochs
    assert at.number_input(key="train_patience").value == 0
    assert at.number_input(key="train_batch_size").value == 8
    assert at.number_input(key="train_lambda").value == pytest.approx(0.3)
    assert at.selectbox(key="train_device").options[:2] == ["auto (best available)", "cpu"]
    assert "No training run yet" in at.info[0].value


def test_invalid_values_are_refused_with_reasons_and_nothing_starts(workbench):
    store, _ = workbench
    at = _page()
    at.number_input(key="train_epochs").set_value(0)
    at.number_input(key="train_lr").set_value(0.0)
    at.text_input(key="train_encoder").set_value("  ")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    error = at.error[0].value
    assert "Epochs must be between 1 and 10000" in error and "Learning rate must be above 0" in error
    assert "encoder needs a name" in error
    assert store.runs.list() == []


def test_launch_from_the_page_then_the_monitor_follows_the_run_to_its_end(workbench):
    store, _ = workbench
    at = _page()
    at.selectbox(key="train_device").set_value("cpu")
    at.button[0].click().run()
    assert not at.exception
    [run] = store.runs.list()
    assert run["data_size"] == 30 and run["config"]["request"]["device"] == "cpu"
    assert at.selectbox(key="train_monitor_run").value == run["id"]
    wait_ended(store, run["id"])
    at = _page()
    assert not at.exception
    assert at.subheader[0].value.endswith(f"Run {run['id']} · completed")
    assert len(at.get("plotly_chart")) == 3
    assert "completed after 2 epochs" in at.code[-1].value
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"Training time", "ETA (estimate)", "Examples/s", "Best epoch", "Best val loss"}
    assert metrics["ETA (estimate)"] == "—" and metrics["Best epoch"] in ("1", "2")


def test_a_second_launch_is_refused_while_a_run_holds_the_device(workbench):
    store, config = workbench
    run_id = long_run(store, config)
    at = _page()
    assert at.selectbox(key="train_monitor_run").value == run_id  # reattached to the active run
    at.selectbox(key="train_device").set_value("cpu")
    at.button[0].click().run()
    assert f"busy with run {run_id}" in at.error[0].value
    assert len(store.runs.list()) == 1


def test_stop_button_stops_the_run_and_resume_continues_it(workbench):
    store, config = workbench
    run_id = long_run(store, config)
    at = _page()
    _button(at, f"stop_{run_id}").click().run()
    assert not at.exception
    assert store.runs.get(run_id)["status"] == "stopped"
    at = _page()
    _button(at, f"resume_{run_id}").click().run()
    assert not at.exception
    assert store.runs.get(run_id)["status"] in ("queued", "running")
    _page()  # the monitor of a resumed run renders
    _button(_page(), f"stop_{run_id}").click().run()
    assert store.runs.get(run_id)["status"] == "stopped"


def test_a_killed_run_shows_as_crashed_with_the_end_of_its_log(workbench):
    store, config = workbench
    run_id = long_run(store, config)
    pid = store.runs.get(run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_training_alive(pid))
    at = _page()
    assert store.runs.get(run_id)["status"] == "crashed"
    assert "crashed" in at.error[0].value and "epoch 1/400" in at.code[0].value


def test_the_monitor_shows_what_a_run_had_to_cut_from_its_data(workbench):
    store, _ = workbench
    run_id = store.runs.create({"tiny": True})
    warning = "2 of 30 workflows have more than 48 sub-tasks (model.max_nodes); the model learns and plans the first 48"
    store.runs.update(run_id, status="completed", warnings=[warning])
    at = _page()
    assert not at.exception
    assert [w.value.replace("\\", "") for w in at.warning] == [warning]


def test_the_monitor_says_when_a_run_ended_early_for_lack_of_progress(workbench):
    store, _ = workbench
    run_id = store.runs.create({"tiny": True})
    store.runs.update(run_id, status="completed", epoch=30, total_epochs=50,
                      summary={"status": "completed", "epochs": 30, "stopped_early": True})
    at = _page()
    assert not at.exception
    assert any("ended early after epoch 30: the validation loss had stopped improving" in c.value for c in at.caption)


def test_the_monitor_says_what_the_consensus_fit_kept(workbench):
    store, _ = workbench
    run_id = store.runs.create({"tiny": True})
    fitted = {"model_weight": 0.25, "k": 20, "sharpness": 40.0, "presence_weight": 0.2, "learned": True,
              "validation": {"off": {"node_f1": 0.79, "edge_f1": 0.55},
                             "0.25 presence 0.2 learned": {"node_f1": 0.8387, "edge_f1": 0.605}}}
    store.runs.update(run_id, status="completed", summary={"status": "completed", "consensus": fitted})
    at = _page()
    assert not at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert ("Consensus decoding fitted on validation: on (the model's plan and its 20 nearest training plans vote, "
            "nearest by the similarity learnt from the plans; model weight 0.25, type-presence weight 0.2); "
            "validation node-F1 0.790 by the model alone, 0.839 as kept") in captions
    assert not any(c.startswith("Step order") for c in captions)  # a run from before step orders
    fitted["order"] = {"weight": 8.0, "validation": {"order off": {"node_f1": 0.84, "edge_f1": 0.61},
                                                     "order 8": {"node_f1": 0.84, "edge_f1": 0.64}}}
    store.runs.update(run_id, summary={"status": "completed", "consensus": fitted})
    captions = [c.value.replace("\\", "") for c in _page().caption]
    assert ("Step order fitted on validation: on (a chain's steps re-ordered towards the order its request asks for "
            "them, weight 8); validation edge-F1 0.610 in the orders as planned, 0.640 re-ordered") in captions
    fitted["order"] = {"weight": 0.0, "validation": {"order off": {"node_f1": 0.84, "edge_f1": 0.61}}}
    store.runs.update(run_id, summary={"status": "completed", "consensus": fitted})
    captions = [c.value.replace("\\", "") for c in _page().caption]
    assert ("Step order fitted on validation: off (each plan's steps run in the order planned: re-ordering planned "
            "validation no better)") in captions
    # a run whose fit kept the model's plans says so
    store.runs.update(run_id, summary={"status": "completed", "consensus": {
        "model_weight": None, "validation": {"off": {"node_f1": 0.955, "edge_f1": 0.938}}}})
    captions = [c.value.replace("\\", "") for c in _page().caption]
    assert ("Consensus decoding fitted on validation: off (the model's plans as decoded); validation node-F1 0.955 "
            "by the model alone, 0.955 as kept") in captions


def test_runs_page_lists_compares_and_deletes_runs(workbench):
    store, config = workbench
    first = launch_run(store, config, TrainRequest(**{**TrainRequest.from_config(config).__dict__, "epochs": 1,
                                                      "device": "cpu"}))
    wait_ended(store, first)
    second = launch_run(store, config, TrainRequest(**{**TrainRequest.from_config(config).__dict__, "epochs": 2,
                                                       "seed": 7, "device": "cpu"}))
    wait_ended(store, second)
    at = _page(RUNS)
    assert not at.exception
    table, diff, checkpoints = (frame.value for frame in at.dataframe)  # history, settings that differ, files
    assert list(table["run"]) == [second, first] and list(table["status"]) == ["completed", "completed"]
    assert {"training.phase1_supervised.num_epochs", "training.phase1_supervised.seed"} <= set(diff["setting"])
    assert len(at.get("plotly_chart")) == 2
    assert len(checkpoints) == 4  # best and last of each run

    at.selectbox(key="runs_delete_pick").set_value(first).run()
    assert _button(at, "runs_delete").disabled
    at.checkbox(key="runs_delete_sure").check().run()
    _button(at, "runs_delete").click().run()
    assert not at.exception
    assert [r["id"] for r in store.runs.list()] == [second]
    assert not Path(config["paths"]["checkpoints"], f"run-{first}").exists()


def test_use_in_planner_opens_the_planner_with_the_best_checkpoint_or_the_one_picked(workbench):
    store, config = workbench
    run_id = launch_run(store, config, TrainRequest(**{**TrainRequest.from_config(config).__dict__, "epochs": 1,
                                                       "device": "cpu"}))
    wait_ended(store, run_id)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("../pages/runs.py").run()
    folder = Path(config["paths"]["checkpoints"], f"run-{run_id}")
    best, last = str(folder / "phase1_best_model.pth"), str(folder / "last.pth")
    # newest first: the best checkpoint, rewritten by the consensus fit after the last epoch, then last
    options = at.selectbox(key="runs_checkpoint").options
    assert options[0].startswith(f"run {run_id} · best") and options[1].startswith(f"run {run_id} · last")
    _button(at, "runs_use_in_planner").click().run()
    assert not at.exception
    assert at.selectbox(key="planner_checkpoint").value == best

    at.switch_page("../pages/runs.py").run()
    at.selectbox(key="runs_checkpoint").set_value(last).run()
    _button(at, "runs_use_in_planner").click().run()
    assert not at.exception
    assert at.title[0].value == "Planner"
    assert at.selectbox(key="planner_checkpoint").value == last


def test_the_monitor_draws_losses_on_a_log_axis_that_a_toggle_turns_linear(workbench):
    store, _ = workbench
    run_id = store.runs.create({"tiny": True})
    store.runs.add_metrics(run_id, [{"step": s, "epoch": 0, "split": "train", "name": "loss", "value": v,
                                     "wall_time": s} for s, v in ((1, 8000.0), (2, 3.0), (3, 0.5))])
    store.runs.update(run_id, status="completed", epoch=1, total_epochs=1, step=3, total_steps=3)
    at = _page()
    assert not at.exception
    toggle = next(t for t in at.toggle if t.key == f"monitor_log_{run_id}")
    assert toggle.value is True
    assert '"type":"log"' in at.get("plotly_chart")[0].proto.spec.replace(" ", "")
    toggle.set_value(False).run()
    assert not at.exception
    assert '"type":"linear"' in at.get("plotly_chart")[0].proto.spec.replace(" ", "")


def test_the_token_state_cache_shows_what_it_holds_and_clear_empties_it(workbench, tmp_path, monkeypatch):
    import torch

    from orchestai_core.token_cache import ENV, TokenCache

    monkeypatch.setenv(ENV, str(tmp_path / "states"))
    cache = TokenCache.from_config(load_config())
    for text in ("summarize this pdf", "transcribe the call"):
        cache.save(cache.key("f", text), torch.zeros(300, 384))
    at = _page()
    assert not at.exception
    shown = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "2 instructions' token states, 900 KB of at most 2,048 MB" in shown and str(tmp_path / "states") in shown
    _button(at, "clear_token_cache").click().run()
    assert not at.exception and cache.usage()["entries"] == 0
    assert "Cleared the token states of 2 instructions (900 KB)." in [t.value for t in at.toast]
    assert _button(at, "clear_token_cache").disabled  # nothing left to clear
    monkeypatch.setenv("ORCHESTAI_CONFIG", _config_with(tmp_path, {"max_gb": 0}))
    at = _page()
    assert "Off (token_cache.max_gb is 0" in " ".join(c.value for c in at.caption).replace("\\", "")
    monkeypatch.setenv("ORCHESTAI_CONFIG", _config_with(tmp_path, {"max_gb": "lots"}))
    at = _page()
    assert not at.exception
    assert "token_cache.max_gb must be a number ≥ 0" in " ".join(w.value for w in at.warning).replace("\\", "")


def _config_with(tmp_path, section):
    """The workbench's config with another token_cache section, written beside it; its path."""
    import yaml

    config = yaml.safe_load(Path(os.environ["ORCHESTAI_CONFIG"]).read_text())
    config["token_cache"] = section
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)
