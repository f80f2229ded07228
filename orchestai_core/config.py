"""Loading `config.yaml` (and any YAML file the project reads) and resolving the paths it names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or malformed."""


def config_path(path: str | os.PathLike | None = None) -> Path:
    """The config file: the given path, else env ORCHESTAI_CONFIG, else the project's config.yaml."""
    if path is not None:
        return Path(path)
    return Path(os.environ["ORCHESTAI_CONFIG"]) if os.environ.get("ORCHESTAI_CONFIG") else DEFAULT_CONFIG


def read_yaml(path: str | os.PathLike, what: str) -> Any:
    """The content of a YAML file; ConfigError naming the file, and `what` it was read as, when it cannot
    be read or parsed."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read a YAML config; relative `paths:` entries become absolute against the file's folder."""
    path = config_path(path)
    data = read_yaml(path, "config")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    paths = data.get("paths") or {}
    if not isinstance(paths, dict):
        raise ConfigError(f"{path}: 'paths' must be a mapping")
    data["paths"] = {k: str((path.parent / v).resolve()) for k, v in paths.items()}
    data["_config_path"] = str(path.resolve())
    return data


def resolve_db_path(cli_value: str | os.PathLike | None = None, config: dict | None = None) -> Path:
    """The database path: --db, else env ORCHESTAI_DB, else config `paths.database`."""
    if cli_value:
        return Path(cli_value)
    if os.environ.get("ORCHESTAI_DB"):
        return Path(os.environ["ORCHESTAI_DB"])
    config = config if config is not None else load_config()
    try:
        return Path(config["paths"]["database"])
    except KeyError:
        raise ConfigError("config has no paths.database and neither --db nor ORCHESTAI_DB is set") from None
