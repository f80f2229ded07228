"""`orchestai bundle-planner`: make a trained checkpoint the planner that ships with the project."""

from __future__ import annotations

import json

import click

from orchestai_core.cli.options import config_option, open_config


@click.command("bundle-planner")
@config_option
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write it (default: paths.default_planner of the config).")
def bundle_planner(config_path, checkpoint, out):
    """Measure CHECKPOINT on the fixed held-out sample, then copy it to the bundled planner's place with its
    figures beside it (`make planner` trains and bundles by the default recipe)."""
    from orchestai_core.checkpoints import CheckpointError
    from orchestai_core.default_planner import bundle, quality_path

    dest = out or open_config(config_path)["paths"]["default_planner"]
    try:
        quality = bundle(checkpoint, dest)
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {dest} and {quality_path(dest)}", err=True)
    click.echo(json.dumps(quality))
