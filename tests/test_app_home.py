"""The Home page, run through Streamlit's AppTest against a temporary database."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from orchestai_core.ingest import import_file
from orchestai_core.store import Store

APP = str(Path(__file__).resolve().parent.parent / "workbench" / "app.py")


def _log(i: int, template: str, worker: str, success: bool) -> dict:
    return {
        "id": f"home-{i}", "instruction": f"Summarise report {i} and translate it", "template": template,
        "success": success,
        "subtasks": [
            {"id": "a", "type": "summarize", "worker": worker, "cost_usd": 0.001 * i, "latency_ms": 100 + i},
            {"id": "b", "type": "translate", "worker": "nllb-200", "depends_on": ["a"], "latency_ms": 50},
        ],
    }


@pytest.fixture
def seeded_db(tmp_path, monkeypatch):
    path = tmp_path / "home.db"
    corpus = tmp_path / "logs.jsonl"
    logs = [_log(i, f"tpl-{i % 3}", "gpt-4o-mini" if i % 2 else "gpt-4o", i % 4 != 0) for i in range(1, 13)]
    corpus.write_text("\n".join(json.dumps(log) for log in logs))
    import_file(Store.open(path), corpus)
    monkeypatch.setenv("ORCHESTAI_DB", str(path))
    return path


def test_home_page_shows_dataset_figures(seeded_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Logs"] == "12"
    assert metrics["Templates"] == "3"
    assert metrics["Workers"] == "3"
    assert metrics["Success rate"] == "75.0%"
    assert metrics["Mean sub-tasks"] == "2.0"
    assert len(at.get("plotly_chart")) == 5


def test_home_page_on_empty_database_says_how_to_load_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTAI_DB", str(tmp_path / "empty.db"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "orchestai init" in at.info[0].value
    assert not at.metric
