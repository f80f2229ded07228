"""Options shared by several commands, and opening the store they name."""

from __future__ import annotations

import click

from orchestai_core.config import ConfigError, load_config, resolve_db_path
from orchestai_core.store import Store

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False),
    help="Database file (default: env ORCHESTAI_DB, else paths.database in config.yaml).")
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, exists=True),
    help="Configuration file (default: config.yaml of the project).")


def open_config(config_path: str | None) -> dict:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def open_store(db_path: str | None, config: dict | None = None) -> Store:
    try:
        path = resolve_db_path(db_path, config)
        return Store.open(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # sqlite3 errors on a file that is not a database, permissions…
        raise click.ClickException(f"cannot open database {db_path or ''}: {exc}".replace("  ", " ")) from None
