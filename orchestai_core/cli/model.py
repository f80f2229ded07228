"""Model commands: train, eval, plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestai_core.cli.options import config_option, db_option, open_config, open_store
from orchestai_core.ingest import FORMATS, UnreadableFileError
from orchestai_core.model.beam import MAX_BEAM
from orchestai_core.store import REVIEW_STATUSES

checkpoint_option = click.option(
    "--checkpoint", type=click.Path(dir_okay=False),
    help="Planner checkpoint (default: as the Planner page preselects: the newest best one under "
         "paths.checkpoints, else the bundled planner, else the newest checkpoint).")
beam_option = click.option("--beam", type=click.IntRange(1, MAX_BEAM), default=None,
                           help="Plans kept while decoding (1 = greedy; default: the checkpoint's model.beam).")
consensus_option = click.option(
    "--consensus/--no-consensus", default=True, show_default=True,
    help="Let the nearest training plans vote with the model's plan, when training found that plans its "
         "validation logs better (--no-consensus: the model's plans as decoded).")
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="log", show_default=True,
    help="What each line of --data is: a log of our format, or a TaskBench row (TaskBench, GNN4TaskPlan, "
         "UltraTool), read as `import --format taskbench` reads it.")
int8_option = click.option("--int8", is_flag=True,
                           help="Run the frozen encoder in int8 on CPU: faster, plans may differ slightly.")


SHOWN_SKIPPED = 5  # line/reason pairs of skipped logs in a JSON summary


def _examples(data: str | None, db_path: str | None, status: str | None, config: dict, skipped: list | None = None,
              fmt: str = "log"):
    """The examples of `--data` in format `fmt` (invalid lines appended to `skipped`; without it the first one
    is an error) or of the store."""
    from orchestai_core.training_data import examples_from_store, load_examples

    try:
        if data:
            return load_examples(data, skipped, fmt)
        return examples_from_store(open_store(db_path, config), status)
    except (ValueError, UnreadableFileError) as exc:
        raise click.ClickException(str(exc)) from None


def _no_examples(what: str, source: str, skipped: list) -> click.ClickException:
    reason = f" ({len(skipped)} invalid line(s) skipped, the first: line {skipped[0].line}: {skipped[0].error})" \
        if skipped else ""
    return click.ClickException(f"no {what} in {source}{reason}")


def _skipped_pairs(skipped: list) -> list[dict]:
    return [{"line": s.line, "error": s.error} for s in skipped[:SHOWN_SKIPPED]]


@click.command()
@config_option
@click.option("--data", type=click.Path(dir_okay=False),
              help="Log file (.jsonl/.jsonl.gz/.json) or training_data.json.")
@db_option
@click.option("--status", type=click.Choice(REVIEW_STATUSES), help="With the store: only logs with this review status.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override training.phase1_supervised.num_epochs.")
@click.option("--patience", type=click.IntRange(min=0),
              help="Stop after this many epochs without a better validation loss (0 = never; default: the config's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Checkpoint folder (default: paths.checkpoints).")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pth with its optimizer state and epoch.")
@click.option("--seed", type=int, help="Override the seed.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--run-id", type=int, help="An existing run row to report into (the workbench creates one).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--strict", is_flag=True,
              help="With --data: refuse the file if any log in it is invalid (default: skip them).")
@click.option("--no-token-cache", is_flag=True,
              help="Encode every instruction, neither reading nor writing the token-state cache (paths.token_cache).")
@format_option
def train(config_path, data, db_path, status, epochs, patience, out_dir, resume, seed, device, run_id, quiet, strict,
          no_token_cache, fmt):
    """Phase-1 supervised training of the planner; the last line printed is a JSON summary.

    Under torchrun every process runs this command; only the first one records the run and prints."""
    from orchestai_core.store import StoreError
    from orchestai_core.token_cache import TokenCache
    from orchestai_core.train import Phase1Trainer, distributed_context, training_settings

    config = open_config(config_path)
    changes = {k: v for k, v in (("num_epochs", epochs), ("patience", patience), ("seed", seed)) if v is not None}
    try:
        train_cfg, model_cfg = training_settings(config, **changes)
        token_cache = None if no_token_cache else TokenCache.from_config(config)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"config: {exc}") from None
    main_process = distributed_context()[0] == 0
    skipped: list = []
    if fmt != "log" and not data:
        raise click.ClickException("--format reads --data: the store already holds logs of our format")
    examples = _examples(data, db_path, status, config, None if strict else skipped, fmt)
    if main_process:
        for item in skipped:
            click.echo(f"warning: {item.message}", err=True)
    if not examples:
        raise _no_examples("training logs", data or "the store", skipped)
    out = Path(out_dir or config["paths"]["checkpoints"])
    store = open_store(db_path, config) if main_process else None
    if store is not None:
        try:
            if run_id is None:
                section = {**config.get("training", {}).get("phase1_supervised", {}), **changes}
                run_id = store.runs.create({"training": section, "model": model_cfg.__dict__},
                                          command=["orchestai", "train", *sys.argv[2:]], data_size=len(examples),
                                          out_dir=str(out))
            else:
                store.runs.get(run_id)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
    trainer = Phase1Trainer(train_cfg, model_cfg, out, device, store, run_id, progress=not quiet,
                            token_cache=token_cache)
    try:
        trainer.setup(examples, resume=resume, skipped=skipped)
        summary = trainer.train()
    except (ValueError, FileNotFoundError) as exc:
        if store is not None:
            store.runs.update(run_id, status="failed", error=str(exc))
        raise click.ClickException(str(exc)) from None
    finally:
        trainer.cleanup()
    if main_process:
        click.echo(json.dumps({"run_id": run_id, **summary, "skipped_lines": _skipped_pairs(skipped)}))


@click.command("eval")
@checkpoint_option
@config_option
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Log file with gold plans.")
@click.option("--policy", type=click.Choice(["outcome"]),
              help="Estimate off-policy, on held-out logs with outcomes, the worker selection by the outcome "
                   "model's utility against the logging policy (instead of the plan metrics).")
@click.option("--cost-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="With --policy: the cost weight of the utility selection evaluated.")
@click.option("--latency-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="With --policy: the latency weight of the utility selection evaluated.")
@click.option("--bins", type=click.IntRange(min=1), default=10, show_default=True,
              help="Bins of the reliability curve (equal width).")
@click.option("--bootstrap", type=click.IntRange(min=2), default=300, show_default=True,
              help="With --policy: bootstrap resamples of each interval.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--device", default="auto", show_default=True)
@click.option("--strict", is_flag=True, help="Refuse the file if any log in it is invalid (default: skip them).")
@int8_option
@beam_option
@consensus_option
@format_option
def eval_cmd(checkpoint, config_path, data, policy, cost_weight, latency_weight, bins, bootstrap, as_json, device,
             strict, int8, beam, consensus, fmt):
    """Evaluate a checkpoint on logs: DAG validity, node-F1, edge-F1, exact match, worker accuracy, and the
    calibration of its outcome model. With --policy outcome: off-policy estimates (IPS, SNIPS, DR) of its
    worker selection against the logging policy, calibration and the cost–quality curve.
    Invalid logs are skipped and named (line and reason); `skipped` in the JSON counts them."""
    from orchestai_core.evaluate import (
        NO_TEMPLATE,
        PLAN_METRICS,
        PREFERRED,
        evaluate_planner,
        mostly_unfamiliar,
        unfamiliar_message,
    )

    skipped: list = []
    examples = _examples(data, None, None, {}, None if strict else skipped, fmt)
    for item in skipped:
        click.echo(f"warning: {item.message}", err=True)
    if not examples:
        raise _no_examples("logs to evaluate on", data, skipped)
    planner = _planner(_checkpoint(checkpoint, config_path), device, int8, beam, consensus=consensus)
    if policy:
        _policy_eval(planner, data, fmt, skipped, cost_weight, latency_weight, bins, bootstrap, as_json)
        return
    result = evaluate_planner(planner, examples)
    calibration, why_not = _calibration(planner, data, fmt, bins)
    consensus = getattr(planner, "consensus", None)  # a stand-in planner (tests) may have none
    result |= {"consensus": consensus and consensus.to_dict(), "skipped": len(skipped),
               "skipped_lines": _skipped_pairs(skipped),
               "calibration": calibration and {kind: c.to_dict() for kind, c in calibration.items()}}
    if as_json:
        click.echo(json.dumps(result))
        return
    base = result["baseline"]
    click.echo(f"{result['n']} logs         model   nearest-neighbour baseline")
    for key in PLAN_METRICS:
        click.echo(f"{key:<16} {_fmt(result[key]):>6}   {_fmt(base[key]):>6}")
    if result.get("worker_accuracy_preferred") is not None:  # the logs record choice_prob
        click.echo(f"{'  own choices':<16} {_fmt(result['worker_accuracy_preferred']):>6}   "
                   f"{_fmt(base.get('worker_accuracy_preferred')):>6}   (worker accuracy on the steps the logging "
                   f"policy chose as its own, choice_prob > {PREFERRED}: not its explorations)")
    click.echo(f"raw adjacency already acyclic: {_fmt(result['raw_acyclic'])}")
    if consensus is not None:
        click.echo(f"consensus decoding: {consensus.describe()}")
    if getattr(planner, "order_note", None):
        click.echo(f"step order: {planner.order_note}")
    for cut in result["cut"]:
        click.echo(f"warning: {cut}")
    unfamiliar = unfamiliar_message(result.get("unfamiliar"))  # None: a planner without an index to tell
    if unfamiliar:
        click.echo(("warning: " if mostly_unfamiliar(result["unfamiliar"]) else "") + unfamiliar)
    if set(result["per_template"]) != {NO_TEMPLATE}:
        worst = sorted(result["per_template"].items(), key=lambda kv: kv[1]["node_f1"])[:5]
        click.echo("weakest templates (node-F1, exact match): " +
                   ", ".join(f"{t} ({m['node_f1']:.2f}, {m['exact_match']:.2f})" for t, m in worst))
    if calibration:
        click.echo(_calibration_line(calibration))
    elif why_not:
        click.echo(f"calibration: not measured ({why_not})")


def _logs(data: str, fmt: str = "log") -> list[dict] | None:
    """The valid logs of a log file (invalid lines were reported by `_examples`); None for a training file or
    TaskBench rows (plans without outcomes)."""
    from orchestai_core.ingest import NotALogFileError, read_records

    if fmt != "log":
        return None
    try:
        return [record.log for record in read_records(data) if not record.error]
    except NotALogFileError:
        return None  # training_data.json: examples without per-step outcomes
    except UnreadableFileError as exc:
        raise click.ClickException(str(exc)) from None


def _calibration(planner, data: str, fmt: str, bins: int):
    """The outcome model's calibration on the logs' executed steps and, when there is none, why (None when
    the checkpoint has no outcome model: nothing to say)."""
    from orchestai_core.outcomes.report import calibration_report, has_outcome_model

    if not has_outcome_model(planner):
        return None, None
    logs = _logs(data, fmt)
    if logs is None:
        return None, f"{'TaskBench rows hold' if fmt == 'taskbench' else 'a training file holds'} no per-step outcomes"
    try:
        return calibration_report(planner, logs, bins), None
    except ValueError as exc:
        return None, str(exc)


def _calibration_line(calibration: dict) -> str:
    plain, weighted = calibration["plain"], calibration["weighted"]
    return (f"calibration of p_success on {plain.n:,} executed steps: ECE {plain.ece:.3f} "
            f"(weighted by 1/choice_prob: {weighted.ece:.3f}), {len(plain.bins)} non-empty of "
            f"{plain.strategy} bins")


def _policy_eval(planner, data, fmt, skipped, cost_weight, latency_weight, bins, bootstrap, as_json) -> None:
    from orchestai_core.outcomes.report import has_outcome_model, policy_report

    if not has_outcome_model(planner):
        raise click.ClickException("this checkpoint has no outcome model: retrain it to evaluate --policy outcome")
    logs = _logs(data, fmt)
    if logs is None:
        what = "TaskBench rows" if fmt == "taskbench" else "a training file"
        raise click.ClickException(f"{data}: --policy needs a log file with outcomes, not {what}")
    try:
        report = policy_report(planner, logs, cost_weight, latency_weight, n_bins=bins, n_bootstrap=bootstrap)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "skipped": len(skipped),
                               "skipped_lines": _skipped_pairs(skipped)}))
        return
    for line in _policy_lines(report):
        click.echo(line)


COLUMN = 30  # characters per estimate and interval in the text tables
METRIC_LABELS = {"success": "success rate", "cost": "cost $/step", "latency": "latency ms/step"}


def _value(metric: str, value: float | None) -> str:
    if value is None or value != value:  # NaN: undefined
        return "—"
    if metric == "success":
        return f"{value:.3f}"
    return f"{value:.3g}" if metric == "cost" else f"{value:,.0f}"


def _row_text(metric: str, row) -> str:
    if row.estimate != row.estimate:
        return "undefined"
    return f"{_value(metric, row.estimate)} [{_value(metric, row.low)}, {_value(metric, row.high)}]"


def _cells(metric: str, rows) -> str:
    return "".join(f"{_row_text(metric, r):<{COLUMN - 1}} " for r in rows).rstrip()


def _policy_lines(report) -> list[str]:
    """The report as text: estimates, choices, calibration, the curve, notes."""
    estimators = [row.estimator for row in report.estimates["success"]]
    lines = [f"off-policy evaluation on {report.logs:,} logs, {report.steps:,} executed steps"
             + (f" ({report.skipped_steps:,} steps that did not run left out)" if report.skipped_steps else ""),
             f"learned policy: utility selection at cost weight {report.cost_weight:g}, "
             f"latency weight {report.latency_weight:g}; 95 % bootstrap intervals; its estimates rest on about "
             f"{report.effective_steps:,.0f} effective logged steps",
             (f"{'':<16}" + "".join(f"{name if name != 'logged' else 'logging policy':<{COLUMN}}"
                                     for name in estimators)).rstrip()]
    for metric, rows in report.estimates.items():
        lines.append(f"{METRIC_LABELS[metric]:<16}" + _cells(metric, rows))
    for who, shares in (("learned", report.learned_choices), ("logging", report.logged_choices)):
        lines.append(f"workers, {who}: " + ", ".join(f"{w} {s:.0%}" for w, s in shares.items() if s > 0))
    lines.append(_calibration_line(report.calibration))
    for b in report.calibration["plain"].bins:
        lines.append(f"  p in [{b.low:.2f}, {b.high:.2f}): predicted {b.predicted:.3f}, observed {b.observed:.3f}, "
                     f"{b.count:,} step(s)")
    lines.append(f"cost–quality curve ({report.curve.estimator} estimates):")
    lines.append(f"  {'policy':<34}{'success rate':<{COLUMN}}{'cost $/step':<{COLUMN}}{'latency ms/step':<{COLUMN}}"
                 "effective steps")
    for point in report.curve.points:
        lines.append(f"  {point.label:<34}" + "".join(f"{_row_text(m, getattr(point, m)):<{COLUMN - 1}} "
                                                       for m in ("success", "cost", "latency"))
                     + f"{point.effective_steps:,.0f}")
    lines += [f"note: {note}" for note in report.notes]
    return lines


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _checkpoint(checkpoint: str | None, config_path: str | None) -> str:
    """`--checkpoint`, else the planner the Planner page preselects (`checkpoints.preferred_index`: the newest
    best-validation checkpoint under paths.checkpoints, else the bundled planner, else the newest), named on
    stderr."""
    if checkpoint:
        return checkpoint
    from orchestai_core.checkpoints import planner_checkpoints, preferred_index

    paths = open_config(config_path)["paths"]
    root, bundled = paths.get("checkpoints"), paths.get("default_planner")
    found = planner_checkpoints(root, bundled)
    index = preferred_index(found)
    if index is None:
        raise click.ClickException(f"no planner to use: no checkpoint under {root or '(paths.checkpoints unset)'}"
                                   f" and no bundled planner at {bundled or '(paths.default_planner unset)'}; train "
                                   f"one (orchestai train) or give --checkpoint FILE")
    chosen = found[index]
    what = {"bundled": "the bundled planner", "best": "the newest best checkpoint"}.get(chosen.kind,
                                                                                         "the newest checkpoint")
    click.echo(f"using {what}: {chosen.path} (--checkpoint FILE for another)", err=True)
    return str(chosen.path)


def _planner(checkpoint: str, device: str, int8: bool = False, beam: int | None = None,
             selection: str | None = None, consensus: bool = True):
    from orchestai_core.planner_api import Planner

    try:
        planner = Planner.load(checkpoint, device, int8=int8, beam=beam, selection=selection, consensus=consensus)
    except ValueError as exc:  # CheckpointError, a device that is not there, or int8 off CPU
        raise click.ClickException(str(exc)) from None
    if planner.numerals_note:
        click.echo(f"warning: {checkpoint}: {planner.numerals_note}", err=True)
    return planner


@click.command()
@checkpoint_option
@config_option
@click.argument("instruction", required=False)
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help='JSONL of {"id", "instruction"} lines.')
@click.option("--output", "output_path", type=click.Path(dir_okay=False), help="Where --input plans go (JSONL).")
@click.option("--cost-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Trade success for price when picking workers (0 = success only; 5 = strongly cheaper).")
@click.option("--latency-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Trade success for speed when picking workers (outcome selection only).")
@click.option("--budget-usd", type=click.FloatRange(min=0), default=None,
              help="Keep each plan's expected total cost within this many USD when it can be.")
@click.option("--budget-latency-ms", type=click.FloatRange(min=0), default=None,
              help="Keep each plan's expected critical-path latency within this many ms when it can be.")
@click.option("--selection", type=click.Choice(["outcome", "imitation"]), default=None,
              help="How workers are chosen (default: the checkpoint's model.selection).")
@click.option("--device", default="auto", show_default=True)
@int8_option
@beam_option
@consensus_option
def plan(checkpoint, config_path, instruction, input_path, output_path, cost_weight, latency_weight, budget_usd,
         budget_latency_ms, selection, device, int8, beam, consensus):
    """Plan one INSTRUCTION (printed as JSON) or a file of instructions (--input/--output).

    Each step gets the worker of highest predicted success − cost and latency weights × its relative cost
    and latency, within the budgets; `meta.selection` of each plan says how its workers were chosen."""
    if bool(instruction) == bool(input_path):
        raise click.UsageError("give either an INSTRUCTION or --input FILE")
    if instruction is not None and not instruction.strip():
        raise click.ClickException("the instruction is empty: type what the workflow should do")
    from orchestai_core.planner_api import unfamiliar_warning

    planner = _planner(_checkpoint(checkpoint, config_path), device, int8, beam, selection, consensus)
    choice = {"cost_weight": cost_weight, "latency_weight": latency_weight, "budget_usd": budget_usd,
              "budget_latency_ms": budget_latency_ms}
    if instruction:
        planned = planner.plan(instruction, **choice)
        click.echo(json.dumps(planned, ensure_ascii=False))
        warning = unfamiliar_warning(planned)
        if warning:
            click.echo(f"warning: {warning}", err=True)
        return
    if not output_path:
        raise click.UsageError("--input needs --output")
    ids, texts = _instructions(input_path)
    if not texts:
        raise click.ClickException(f"{input_path}: no instructions")
    from orchestai_core.export import write_jsonl

    chunk = 256  # plans are written as they come, not kept for the whole file
    unfamiliar = []

    def plans():
        for start in range(0, len(texts), chunk):
            for planned in planner.plan_batch(texts[start:start + chunk], ids[start:start + chunk], **choice):
                if unfamiliar_warning(planned):
                    unfamiliar.append(planned["id"])
                yield planned

    write_jsonl(plans(), output_path)
    click.echo(f"{output_path}: {len(texts)} plans")
    if unfamiliar:
        shown = ", ".join(unfamiliar[:5]) + (", …" if len(unfamiliar) > 5 else "")
        click.echo(f"warning: {len(unfamiliar)} of the plans are for requests unlike those the planner learnt from "
                   f"(meta.nearest.unfamiliar): {shown}", err=True)


def _instructions(path: str) -> tuple[list[str], list[str]]:
    import orjson

    ids, texts = [], []
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read ({exc.strerror})") from None
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = orjson.loads(raw)
            text = item["instruction"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(
                f"{path}: line {n}: expected {{\"id\", \"instruction\"}} with a non-empty instruction") from None
        ids.append(str(item.get("id", f"plan-{n}")))
        texts.append(text)
    return ids, texts


@click.command("token-cache")
@config_option
@click.option("--clear", is_flag=True, help="Delete every entry (training encodes the instructions again).")
def token_cache(config_path, clear):
    """The training token-state cache (paths.token_cache): its folder, entries and size as JSON; --clear empties it."""
    from orchestai_core.token_cache import TokenCache

    config = open_config(config_path)
    try:
        cache = TokenCache.from_config(config)
    except ValueError as exc:
        raise click.ClickException(f"config: {exc}") from None
    if cache is None:
        raise click.ClickException("no token-state cache: token_cache.max_gb is 0 or no folder is configured "
                                   "(paths.token_cache, env ORCHESTAI_TOKEN_CACHE)")
    cleared = cache.clear() if clear else None
    click.echo(json.dumps({**cache.usage(), **({"cleared": cleared} if clear else {})}))
