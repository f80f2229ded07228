"""The token-state cache: what it keys on, what it refuses to read, how it stays under its size, and training that
reads it: the same states as encoding, only the instructions it lacks encoded, damaged entries encoded again."""

import json
import os
import time

import pytest
import torch
import yaml
from click.testing import CliRunner
from planner_fixtures import tiny_model_config, tiny_train_config, write_workbench_config

from orchestai_core.checkpoints import load_checkpoint
from orchestai_core.cli import main
from orchestai_core.config import ConfigError
from orchestai_core.model.encoder import InstructionEncoder
from orchestai_core.synth import generate_logs
from orchestai_core.token_cache import ENV, SUFFIX, TokenCache, encoder_fingerprint
from orchestai_core.train import Phase1Trainer
from orchestai_core.training_data import example_from_log


def _examples(n: int, seed: int = 5):
    return [example_from_log(log) for log in generate_logs(n, seed=seed)]


def _entries(folder):
    return sorted(p for p in folder.glob(f"??/*{SUFFIX}"))


def _trainer(tiny_encoder, folder, out, cache=True, **changes):
    return Phase1Trainer(tiny_train_config(num_epochs=1, **changes), tiny_model_config(tiny_encoder), out, "cpu",
                         progress=False, token_cache=TokenCache(folder, 2**30) if cache else None)


def _states(trainer):
    return [item.tokens for item in trainer.train_items + trainer.val_items]


def test_an_entry_comes_back_exactly_and_nothing_else_is_read_as_it(tmp_path):
    cache = TokenCache(tmp_path, 2**20)
    states = torch.randn(7, 5)
    key = cache.key("fingerprint", "summarize this pdf")
    assert cache.load(key, 7, 5) is None  # not there yet
    cache.save(key, states)
    assert torch.equal(cache.load(key, 7, 5), states)
    assert cache.key("fingerprint", "summarize this PDF") != key and cache.key("another", "summarize this pdf") != key
    assert cache.load(key, 8, 5) is None and cache.load(key, 7, 6) is None  # the text tokenizes to another shape
    path = _entries(tmp_path)[0]
    path.write_bytes(path.read_bytes()[:40])  # a torn or damaged file
    assert cache.load(key, 7, 5) is None
    assert not list(tmp_path.glob("??/.tmp-*"))  # no temporary file left behind


def test_trim_deletes_the_entries_used_longest_ago_first(tmp_path):
    cache = TokenCache(tmp_path, 0)
    keys = [cache.key("f", str(i)) for i in range(4)]
    for i, key in enumerate(keys):
        cache.save(key, torch.zeros(10, 10))
        os.utime(cache._path(key), (1000 + i, 1000 + i))
    size = cache._path(keys[0]).stat().st_size
    assert cache.load(keys[0], 10, 10) is not None  # read now: the most recently used
    kept = TokenCache(tmp_path, 2 * size)
    assert kept.trim() == 2 * size
    assert [cache.load(k, 10, 10) is not None for k in keys] == [True, False, False, True]
    assert TokenCache(tmp_path, 10 * size).trim() == 0


def test_the_fingerprint_follows_the_weights_the_frozen_layers_and_the_precision(tiny_encoder):
    encoder = InstructionEncoder.from_pretrained(tiny_encoder, max_length=64)
    base = encoder_fingerprint(encoder, torch.float32, "cpu")
    encoder.token_counts(["a request counted whole"])  # a call leaves the tokenizer's truncation and padding set
    encoder.tokenize(["a request", "and a longer one, padded"])
    assert encoder_fingerprint(encoder, torch.float32, "cpu") == base  # they do not change how it splits text
    assert encoder_fingerprint(InstructionEncoder.from_pretrained(tiny_encoder, max_length=64), torch.float32,
                               "cpu") == base  # loaded again: the same
    assert encoder_fingerprint(encoder, torch.bfloat16, "cpu") != base
    assert encoder_fingerprint(encoder, torch.float32, "cuda") != base
    assert encoder_fingerprint(InstructionEncoder.from_pretrained(tiny_encoder, max_length=32), torch.float32,
                               "cpu") != base
    tuned = InstructionEncoder.from_pretrained(tiny_encoder, finetune_layers=1, max_length=64)
    tuned_base = encoder_fingerprint(tuned, torch.float32, "cpu")
    assert tuned_base != base
    with torch.no_grad():
        next(tuned.top.parameters()).add_(1.0)  # training changes the top layer: its frozen states do not change
    assert encoder_fingerprint(tuned, torch.float32, "cpu") == tuned_base
    with torch.no_grad():
        encoder.model.embeddings.word_embeddings.weight[5, 0] += 1e-3
    assert encoder_fingerprint(encoder, torch.float32, "cpu") != base


def test_a_second_run_reads_every_state_and_trains_on_the_same_numbers(tmp_path, tiny_encoder, monkeypatch):
    examples = _examples(40)
    uncached = _trainer(tiny_encoder, tmp_path / "unused", tmp_path / "plain", cache=False)
    uncached.setup(examples)
    first = _trainer(tiny_encoder, tmp_path / "cache", tmp_path / "first")
    first.setup(examples)
    assert first.cache_counts == {"found": 0, "encoded": 40, "not_kept": 0} and len(_entries(tmp_path / "cache")) == 40
    assert all(torch.equal(a, b) for a, b in zip(_states(first), _states(uncached)))  # a cold run: as without it
    first.train(fit_consensus=False)

    calls = []
    original = InstructionEncoder.frozen_states
    monkeypatch.setattr(InstructionEncoder, "frozen_states", lambda self, **kw: calls.append(1) or original(self, **kw))
    second = _trainer(tiny_encoder, tmp_path / "cache", tmp_path / "second")
    second.setup(examples)
    assert calls == [] and second.cache_counts == {"found": 40, "encoded": 0, "not_kept": 0}
    assert all(torch.equal(a, b) for a, b in zip(_states(second), _states(first)))
    assert second.train(fit_consensus=False)["token_cache"] == {"found": 40, "encoded": 0, "not_kept": 0}
    trained = [load_checkpoint(tmp_path / run / "phase1_best_model.pth").model for run in ("first", "second")]
    assert trained[0].keys() == trained[1].keys()
    assert all(torch.equal(trained[0][k], trained[1][k]) for k in trained[0])


def test_only_new_or_damaged_instructions_are_encoded_again(tmp_path, tiny_encoder, monkeypatch):
    folder = tmp_path / "cache"
    _trainer(tiny_encoder, folder, tmp_path / "a").setup(_examples(30))
    damaged = _entries(folder)[:3]
    for path in damaged:
        path.write_bytes(b"not an array")
    encoded = []
    original = InstructionEncoder.frozen_states
    monkeypatch.setattr(InstructionEncoder, "frozen_states",
                        lambda self, **kw: encoded.append(len(kw["input_ids"])) or original(self, **kw))
    more = _examples(30) + _examples(6, seed=6)
    trainer = _trainer(tiny_encoder, folder, tmp_path / "b")
    trainer.setup(more)
    assert trainer.cache_counts == {"found": 27, "encoded": 9, "not_kept": 0} and sum(encoded) == 9
    assert all(path.stat().st_size > 100 for path in damaged)  # rewritten
    reference = _trainer(tiny_encoder, folder, tmp_path / "c", cache=False)
    reference.setup(more)
    for got, want in zip(_states(trainer), _states(reference)):
        assert torch.allclose(got, want, atol=1e-5)  # encoded in other batches: equal but for rounding


def test_the_config_names_the_folder_and_size_and_zero_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    config = {"paths": {"token_cache": str(tmp_path / "tc")}, "token_cache": {"max_gb": 0.5}}
    assert TokenCache.from_config(config) == TokenCache(tmp_path / "tc", 2**29)
    assert TokenCache.from_config({**config, "token_cache": {"max_gb": 0}}) is None
    assert TokenCache.from_config({"paths": {}}) is None  # a config from before the cache names no folder
    monkeypatch.setenv(ENV, str(tmp_path / "env"))
    assert TokenCache.from_config(config).folder == tmp_path / "env"
    for bad in (-1, "two", True, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="token_cache.max_gb must be a number ≥ 0"):
            TokenCache.from_config({**config, "token_cache": {"max_gb": bad}})


def test_orchestai_train_fills_the_cache_then_reads_it_and_no_token_cache_leaves_it_alone(tmp_path, tiny_encoder,
                                                                                          monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    config = write_workbench_config(tmp_path, tiny_encoder, epochs=1)
    data = tmp_path / "logs.jsonl"
    data.write_text("\n".join(json.dumps(log) for log in generate_logs(24, seed=9)))
    folder = tmp_path / "token-cache"

    def run(*extra):
        result = CliRunner().invoke(main, ["train", "--config", str(config), "--data", str(data), "--quiet",
                                           "--out", str(tmp_path / f"ck{time.monotonic_ns()}"), *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    assert run("--no-token-cache")["token_cache"] is None and not folder.exists()
    assert run()["token_cache"] == {"found": 0, "encoded": 24, "not_kept": 0}
    assert len(_entries(folder)) == 24
    assert run()["token_cache"] == {"found": 24, "encoded": 0, "not_kept": 0}
    settings = yaml.safe_load(config.read_text())
    settings["token_cache"] = {"max_gb": -2}
    config.write_text(yaml.safe_dump(settings))
    result = CliRunner().invoke(main, ["train", "--config", str(config), "--data", str(data)])
    assert result.exit_code == 1 and "token_cache.max_gb must be a number ≥ 0" in result.output


def test_usage_counts_the_entries_and_clear_deletes_them_and_nothing_else(tmp_path, monkeypatch):
    cache = TokenCache(tmp_path, 2**20)
    for text in ("a", "b", "c"):
        cache.save(cache.key("f", text), torch.zeros(4, 8))
    (tmp_path / "notes.txt").write_text("a user's file")
    size = cache._path(cache.key("f", "a")).stat().st_size
    assert cache.usage() == {"folder": str(tmp_path), "entries": 3, "bytes": 3 * size, "max_bytes": 2**20}
    assert cache.clear() == {"entries": 3, "bytes": 3 * size}
    assert cache.usage()["entries"] == 0 and (tmp_path / "notes.txt").exists()
    monkeypatch.setenv(ENV, str(tmp_path))
    cache.save(cache.key("f", "a"), torch.zeros(4, 8))
    shown = CliRunner().invoke(main, ["token-cache"])
    assert shown.exit_code == 0 and json.loads(shown.output)["entries"] == 1
    cleared = CliRunner().invoke(main, ["token-cache", "--clear"])
    assert cleared.exit_code == 0 and json.loads(cleared.output)["cleared"] == {"entries": 1, "bytes": size}
    assert cache.usage()["entries"] == 0


def test_a_folder_that_cannot_be_written_leaves_training_going(tmp_path, tiny_encoder):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache's folder should be")
    trainer = Phase1Trainer(tiny_train_config(num_epochs=1), tiny_model_config(tiny_encoder), tmp_path / "out", "cpu",
                            progress=False, token_cache=TokenCache(blocked, 2**30))
    trainer.setup(_examples(12))
    assert trainer.cache_counts == {"found": 0, "encoded": 12, "not_kept": 0} and blocked.is_file()
    assert trainer.train(fit_consensus=False)["status"] == "completed"


def test_a_run_stops_adding_states_once_it_has_filled_the_cache(tmp_path, tiny_encoder, capsys):
    examples = _examples(20)
    probe = TokenCache(tmp_path / "probe", 2**30)
    entry = probe.save("x" * 64, torch.zeros(40, 32))  # about the size of one of these instructions' states
    trainer = Phase1Trainer(tiny_train_config(num_epochs=1), tiny_model_config(tiny_encoder), tmp_path / "out", "cpu",
                            progress=False, token_cache=TokenCache(tmp_path / "small", 5 * entry))
    trainer.setup(examples)
    kept, full = len(_entries(tmp_path / "small")), trainer.cache_counts["not_kept"]
    assert 3 <= kept <= 8 and 10 <= full < 20 and trainer.cache_counts["encoded"] == 20
    assert f"{full} of them not kept (this run filled the cache's" in capsys.readouterr().err
    assert trainer.train(fit_consensus=False)["status"] == "completed"
