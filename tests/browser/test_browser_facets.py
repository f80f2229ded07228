"""The Logs page's facets in a real browser, over the bundled corpus: a template that is not among the
50 most frequent can be typed into the Template filter, chosen, and narrows the list."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestai_core.ingest import import_file
from orchestai_core.store import Store

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "assets" / "default_logs.jsonl.gz"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def corpus_app(tmp_path_factory, tiny_encoder):
    """The app (`streamlit run`) over a database holding the bundled corpus; its URL and the templates,
    the most frequent first, as the facet counts them."""
    from planner_fixtures import write_workbench_config

    home = tmp_path_factory.mktemp("facets")
    config = write_workbench_config(home, tiny_encoder)
    store = Store.open(home / "workbench.db")
    import_file(store, CORPUS)
    templates = store.logs.facet("template", limit=None)
    store.close()
    port = _free_port()
    env = {**os.environ, "ORCHESTAI_CONFIG": str(config)}
    env.pop("ORCHESTAI_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "workbench/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, templates
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s")


def test_a_template_beyond_the_first_fifty_can_be_typed_chosen_and_filters_the_list(corpus_app, visit):
    url, templates = corpus_app
    assert len(templates) == 212
    name, count = templates[-1]  # the rarest: far beyond the 50 most frequent
    page = visit.page
    page.goto(f"{url}/logs")
    page.get_by_role("heading", name="Logs", exact=True).wait_for()
    page.get_by_text("1,000 logs match · showing").wait_for()

    template = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Template", exact=True)
    template.click()
    page.keyboard.type(name)
    option = page.get_by_role("option", name=f"{name} ({count})", exact=True)
    option.wait_for()
    visit.screenshot("facets-typed")
    option.click()

    page.get_by_text(f"{count} logs match · showing").wait_for()
    assert template.input_value() == f"{name} ({count})"
    assert page.locator('[data-testid="stException"]').count() == 0
    visit.screenshot("facets-filtered")
    assert visit.outside_requests() == []
