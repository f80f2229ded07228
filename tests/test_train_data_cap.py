"""Which logs training uses: every one unless a cap is set; a cap says which it left out and how it chose.
And the step total a run announces, which a resume after a stop mid-epoch must keep true."""

from planner_fixtures import tiny_model_config, tiny_train_config

from orchestai_core.config import load_config
from orchestai_core.synth import generate_logs
from orchestai_core.train import Phase1Trainer, TrainConfig, cap_examples
from orchestai_core.training_data import example_from_log


def _examples(n: int, seed: int = 5):
    return [example_from_log(log) for log in generate_logs(n, seed=seed)]


def test_the_default_recipe_trains_on_every_log():
    section = load_config()["training"]["phase1_supervised"]
    assert TrainConfig.from_dict(section).train_data_size == 0 and TrainConfig().train_data_size == 0
    examples = _examples(30)
    kept, capped = cap_examples(examples, 0, seed=42)
    assert kept == examples and capped is None


def test_a_cap_keeps_a_seeded_sample_in_order_and_names_every_log_it_left_out():
    examples = _examples(30)
    kept, capped = cap_examples(examples, 25, seed=42)
    assert len(kept) == 25 and capped.total == 30 and len(capped.left_out) == 5
    assert {e.id for e in kept} | set(capped.left_out) == {e.id for e in examples}
    assert [e.id for e in kept] == [e.id for e in examples if e.id not in capped.left_out]  # original order
    assert capped.left_out != [e.id for e in examples[25:]]  # not the first 25 in import order
    assert cap_examples(examples, 25, seed=42)[1].left_out == capped.left_out  # the seed decides
    assert "random sample (seed 42) of 25 of 30 logs; 5 left out: " in capped.message
    assert all(i in capped.message for i in capped.left_out)


def test_a_capped_run_says_what_it_left_out_in_its_log_its_row_and_its_summary(tmp_path, tiny_encoder, store, capsys):
    run_id = store.runs.create({"tiny": True})
    trainer = Phase1Trainer(tiny_train_config(num_epochs=1, train_data_size=20), tiny_model_config(tiny_encoder),
                            tmp_path / "ck", "cpu", store, run_id, progress=False)
    trainer.setup(_examples(24))
    summary = trainer.train()
    assert summary["train_logs"] + summary["val_logs"] == 20
    assert summary["capped"]["train_data_size"] == 20 and summary["capped"]["logs"] == 24
    left_out = summary["capped"]["left_out"]
    assert len(left_out) == 4
    warning = store.runs.get(run_id)["warnings"][0]
    assert warning.startswith("train_data_size 20:") and all(i in warning for i in left_out)
    assert f"warning: {warning}" in capsys.readouterr().err


def test_after_a_resume_mid_epoch_the_step_total_is_the_steps_the_run_takes(tmp_path, tiny_encoder, store):
    examples = _examples(40)
    run_id = store.runs.create({"tiny": True})
    first = Phase1Trainer(tiny_train_config(num_epochs=3), tiny_model_config(tiny_encoder), tmp_path / "ck", "cpu",
                          store, run_id, progress=False)
    first.setup(examples)
    first._should_stop = lambda: first.step == first.steps_per_epoch + 2  # a stop two steps into epoch 2
    assert first.train()["status"] == "stopped"
    per_epoch = first.steps_per_epoch
    assert store.runs.get(run_id)["total_steps"] == 3 * per_epoch
    second = Phase1Trainer(tiny_train_config(num_epochs=3), tiny_model_config(tiny_encoder), tmp_path / "ck", "cpu",
                           store, run_id, progress=False)
    second.setup(examples, resume=True)
    summary = second.train()
    run = store.runs.get(run_id)
    assert summary["status"] == "completed" and summary["steps"] == 3 * per_epoch + 2  # epoch 2 was redone
    assert run["total_steps"] == run["step"] == summary["steps"]
