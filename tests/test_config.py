"""Configuration: defaults visible in config.yaml, relative paths resolved, the db path order, clear errors."""

import pytest

from orchestai_core.config import DEFAULT_CONFIG, ConfigError, load_config, resolve_db_path


def test_phase1_defaults_match_the_design():
    config = load_config()
    phase1 = config["training"]["phase1_supervised"]
    assert (phase1["batch_size"], phase1["learning_rate"], phase1["num_epochs"], phase1["lambda_dag"],
            phase1["train_data_size"], phase1["val_fraction"]) == (32, 1e-4, 50, 0.3, 0, 0.2)
    assert config["paths"]["database"] == str(DEFAULT_CONFIG.parent / "data" / "orchestai.db")
    assert config["_config_path"] == str(DEFAULT_CONFIG)


def test_relative_paths_are_resolved_against_the_config_file_and_absolute_ones_kept(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("paths:\n  database: sub/x.db\n  checkpoints: /abs/ckpt\n  runs: ../runs\n")
    paths = load_config(path)["paths"]
    assert paths == {"database": str(tmp_path / "sub" / "x.db"), "checkpoints": "/abs/ckpt",
                     "runs": str(tmp_path.parent / "runs")}


def test_a_config_without_paths_loads(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training: {}\n")
    assert load_config(path)["paths"] == {}


def test_db_path_prefers_the_option_then_the_environment_then_the_config(monkeypatch):
    config = {"paths": {"database": "/from/config.db"}}
    monkeypatch.delenv("ORCHESTAI_DB", raising=False)
    assert str(resolve_db_path(None, config)) == "/from/config.db"
    monkeypatch.setenv("ORCHESTAI_DB", "")  # an empty variable counts as unset
    assert str(resolve_db_path(None, config)) == "/from/config.db"
    monkeypatch.setenv("ORCHESTAI_DB", "/from/env.db")
    assert str(resolve_db_path(None, config)) == "/from/env.db"
    assert str(resolve_db_path("/from/cli.db", config)) == "/from/cli.db"


def test_no_db_path_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ORCHESTAI_DB", raising=False)
    with pytest.raises(ConfigError, match="no paths.database and neither --db nor ORCHESTAI_DB"):
        resolve_db_path(None, {"paths": {}})


@pytest.mark.parametrize("text, message", [("paths: [1", "not valid YAML"), ("- a", "mapping at the top level"),
                                           ("", "mapping at the top level"), ("paths: 3", "'paths' must be a mapping")])
def test_malformed_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read config \(No such file or directory\)"):
        load_config(tmp_path / "nope.yaml")


def test_env_orchestai_config_names_the_config_file_unless_a_path_is_given(tmp_path, monkeypatch):
    other = tmp_path / "other.yaml"
    other.write_text("paths:\n  checkpoints: ck\n")
    monkeypatch.setenv("ORCHESTAI_CONFIG", str(other))
    assert load_config()["paths"] == {"checkpoints": str(tmp_path / "ck")}
    assert load_config(DEFAULT_CONFIG)["_config_path"] == str(DEFAULT_CONFIG.resolve())
    monkeypatch.setenv("ORCHESTAI_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="missing.yaml: cannot read config"):
        load_config()
