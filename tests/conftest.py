"""Shared fixtures: the spec's example log, a log factory, a store and a log-file writer in a temporary folder."""

import copy
import json
import os

import pytest

from orchestai_core.store import Store

# The example of the log format (docs/log-format.md), character for character.
SPEC_EXAMPLE_LINE = (
    '{"id": "log-000042", "instruction": "Summarize the attached report and translate the summary into French'
    ' and German.", "template": "doc-summarize-translate", "success": true, "subtasks": [{"id": "s1", "type":'
    ' "extract_text", "worker": "gpt-4o-mini", "depends_on": [], "status": "success", "cost_usd": 0.0003,'
    ' "latency_ms": 640}, {"id": "s2", "type": "summarize", "worker": "gpt-4o-mini", "depends_on": ["s1"],'
    ' "status": "success", "cost_usd": 0.0009, "latency_ms": 1810}, {"id": "s3", "type": "translate", "worker":'
    ' "nllb-200", "depends_on": ["s2"], "status": "success", "cost_usd": 0.0002, "latency_ms": 420}, {"id": "s4",'
    ' "type": "translate", "worker": "nllb-200", "depends_on": ["s2"], "status": "success", "cost_usd": 0.0002,'
    ' "latency_ms": 455}]}'
)
SPEC_EXAMPLE = json.loads(SPEC_EXAMPLE_LINE)


@pytest.fixture
def spec_example_line():
    """The spec's example log as the text of one JSONL line."""
    return SPEC_EXAMPLE_LINE


@pytest.fixture
def spec_example():
    """The spec's example log as a fresh dict."""
    return copy.deepcopy(SPEC_EXAMPLE)


@pytest.fixture
def make_log():
    """make(log_id, **top_level_changes): a valid copy of the spec example under another id."""
    def make(log_id="log-1", **changes):
        log = copy.deepcopy(SPEC_EXAMPLE)
        log["id"] = log_id
        log.update(changes)
        return log
    return make


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "orchestai.db")
    yield store
    store.close()


@pytest.fixture
def write_lines(tmp_path):
    """Write lines (dicts become JSON, bytes are written as is) to a .jsonl file; return its path."""
    def write(lines, name="logs.jsonl", sep=b"\n"):
        path = tmp_path / name
        path.write_bytes(sep.join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines))
        return path
    return write


@pytest.fixture(scope="session", autouse=True)
def token_cache_folder(tmp_path_factory):
    """Training that a test runs (in process or by the CLI) keeps its token states in this session's own folder,
    never in the project's cache/."""
    from orchestai_core.token_cache import ENV

    folder = tmp_path_factory.mktemp("token-cache")
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = previous


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    """Path of a 2-layer, 32-wide BERT with MiniLM's tokenizer (fast where pretrained weights are not the point)."""
    from planner_fixtures import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_encoder):
    """A planner checkpoint trained for a few epochs on the tiny encoder (shared by the whole session)."""
    from planner_fixtures import train_tiny_checkpoint

    return train_tiny_checkpoint(tmp_path_factory.mktemp("tiny-checkpoint"), tiny_encoder)


@pytest.fixture
def workbench_home(tmp_path, monkeypatch, tiny_encoder):
    """A workbench folder whose config (tiny model, short training, paths inside the folder) the app
    and its services read through env ORCHESTAI_CONFIG; the database is `workbench.db` in it."""
    from planner_fixtures import write_workbench_config

    monkeypatch.setenv("ORCHESTAI_CONFIG", str(write_workbench_config(tmp_path, tiny_encoder)))
    monkeypatch.delenv("ORCHESTAI_DB", raising=False)
    return tmp_path


@pytest.fixture
def workbench_store(workbench_home):
    """The store of the workbench home."""
    store = Store.open(workbench_home / "workbench.db")
    yield store
    store.close()


@pytest.fixture
def workbench_checkpoint(workbench_home, tiny_checkpoint):
    """The tiny checkpoint, copied in as the workbench's best model; its path."""
    import shutil

    (workbench_home / "checkpoints").mkdir()
    return shutil.copy(tiny_checkpoint, workbench_home / "checkpoints" / "phase1_best_model.pth")
