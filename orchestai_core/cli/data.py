"""Data commands: init, import, export, synth, stats."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from orchestai_core.cli.options import config_option, db_option, open_config, open_store
from orchestai_core.export import FORMATS, export_logs, write_jsonl
from orchestai_core.ingest import FORMATS as IMPORT_FORMATS
from orchestai_core.ingest import UnreadableFileError, import_file, import_tools
from orchestai_core.store import REVIEW_STATUSES, LogFilter


@click.command()
@db_option
@config_option
@click.option("--corpus", type=click.Path(dir_okay=False, exists=True),
              help="Log file to load into an empty database (default: paths.default_corpus).")
def init(db_path, config_path, corpus):
    """Create the database (schema up to date) and fill it with the default corpus if it is empty."""
    config = open_config(config_path)
    store = open_store(db_path, config)
    existing = store.logs.count()
    if existing:
        click.echo(f"{store.path}: {existing} logs already; nothing loaded")
        return
    corpus = corpus or config["paths"].get("default_corpus")
    if not corpus:
        click.echo(f"{store.path}: created, empty (no default corpus configured)")
        return
    report = _import(store, corpus)
    click.echo(f"{store.path}: created with {report.imported} logs from {corpus}"
               + (f" ({report.rejected} rejected)" if report.rejected else ""))


def _import(store, path, fmt="log"):
    try:
        return import_file(store, path, parallel=None, fmt=fmt)  # large files: helper processes
    except UnreadableFileError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="log", show_default=True,
              help="What each line is: a log of our format, or a TaskBench row (TaskBench, GNN4TaskPlan, UltraTool).")
@click.option("--tools", "tools_file", type=click.Path(dir_okay=False),
              help="TaskBench tool_desc.json: keep its tool descriptions in the store (again: no change).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts and rejects.")
@click.option("--strict", is_flag=True, help="Exit 1 if any line was rejected.")
def import_cmd(file, db_path, fmt, tools_file, as_json, strict):
    """Import logs from FILE (.jsonl, .jsonl.gz or a .json array); invalid lines are kept as rejects."""
    store = open_store(db_path)
    tools = None
    if tools_file:
        try:
            tools = import_tools(store, tools_file)
        except UnreadableFileError as exc:
            raise click.ClickException(str(exc)) from None
    report = _import(store, file, fmt)
    if as_json:
        click.echo(json.dumps(report.to_dict() | ({"tools": asdict(tools)} if tools else {}), ensure_ascii=False))
    else:
        if tools:
            click.echo(f"{tools_file}: tools added {tools.added}, updated {tools.updated}, unchanged {tools.unchanged}")
        click.echo(f"{file}: read {report.read}, imported {report.imported}, updated {report.updated},"
                   f" unchanged {report.unchanged}, rejected {report.rejected}")
        if not (report.imported or report.updated or report.unchanged):
            click.echo(f"warning: nothing imported from {file}: every line was rejected", err=True)
        for reject in report.rejects[:20]:
            click.echo(f"  {reject['error']}", err=True)
        if report.rejected > 20:
            click.echo(f"  … {report.rejected - 20} more (all kept in the store, import batch {report.batch_id})",
                       err=True)
    if strict and report.rejected:
        sys.exit(1)


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--status", type=click.Choice(REVIEW_STATUSES), help="Only logs with this review status.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@db_option
def export(out, status, fmt, db_path):
    """Export the latest revision of logs as spec JSONL (.gz to compress) or training_data.json."""
    store = open_store(db_path)
    try:
        n = export_logs(store, out, fmt, LogFilter(review_status=status))
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror})") from None
    click.echo(f"{out}: {n} logs ({fmt})")


@click.command()
@click.option("--n", "count", type=click.IntRange(min=1), default=1000, show_default=True, help="Number of logs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; another seed gives a fresh set.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="JSONL file (.gz to compress).")
def synth(count, seed, out):
    """Generate a synthetic corpus of execution logs from the built-in task templates."""
    from orchestai_core.synth import generate_logs

    try:
        write_jsonl(generate_logs(count, seed), out)
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write ({exc.strerror})") from None
    click.echo(f"{out}: {count} synthetic logs (seed {seed})")


@click.command()
@db_option
def stats(db_path):
    """Print the dataset's headline figures as JSON, with every table's row count (`tables`)."""
    store = open_store(db_path)
    tables = {name: info["rows"] for name, info in store.describe().items()}
    click.echo(json.dumps({**store.logs.summary(), "tables": tables}))
