"""The `orchestai` command: a thin click layer over the library (`python -m orchestai_core` works too)."""

from __future__ import annotations

import click

from orchestai_core.cli import bundle, data, model


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orchestai-workbench", message="orchestai %(version)s")
def main() -> None:
    """OrchestAI: turn execution logs of multi-model LLM systems into a learned planner."""


for command in (data.init, data.import_cmd, data.export, data.synth, data.stats, model.train, model.eval_cmd,
                model.plan, model.token_cache, bundle.bundle_planner):
    main.add_command(command)
