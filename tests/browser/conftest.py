"""The browser suite: the real app (`streamlit run`) on a free local port against a seeded temporary
database, driven by Debian's chromium through playwright. Screenshots go to `test-artifacts/`."""

import contextlib
import copy
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from planner_fixtures import kill_active_runs

from orchestai_core.store import Store

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the running app in Debian's chromium (needs /usr/bin/chromium)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


BASE_LOG = {
    "id": "log", "instruction": "", "template": "doc-summarize-translate", "success": True,
    "subtasks": [
        {"id": "s1", "type": "extract_text", "worker": "gpt-4o-mini", "status": "success", "latency_ms": 640},
        {"id": "s2", "type": "summarize", "worker": "gpt-4o-mini", "depends_on": ["s1"], "status": "success",
         "cost_usd": 0.0009, "latency_ms": 1810},
        {"id": "s3", "type": "translate", "worker": "nllb-200", "depends_on": ["s2"], "status": "failed",
         "latency_ms": 420},
        {"id": "s4", "type": "translate", "worker": "nllb-200", "depends_on": ["s2"], "status": "skipped"},
    ],
}


def seed_logs(base: dict = BASE_LOG) -> list[dict]:
    """Six logs; `log-xss` carries script-looking text in its instruction and subtasks."""
    logs = []
    for i in range(5):
        log = copy.deepcopy(base)
        log.update(id=f"log-{i}", template=f"tpl-{i % 2}", instruction=f"Summarise report {i} and translate it")
        logs.append(log)
    xss = copy.deepcopy(base)
    xss.update(id="log-xss", instruction=f"Translate {XSS} into French </script><script>alert(2)</script>")
    xss["subtasks"][0].update(type=f"extract {XSS}", description=f"</script>{XSS}")
    xss["subtasks"][1]["worker"] = XSS
    logs.append(xss)
    return logs


@pytest.fixture(scope="session")
def app_home(tmp_path_factory, tiny_encoder, tiny_checkpoint):
    """The folder of the app under test: its config (tiny model, short training), database and a
    ready checkpoint in its checkpoints folder."""
    from planner_fixtures import write_workbench_config

    folder = tmp_path_factory.mktemp("browser")
    write_workbench_config(folder, tiny_encoder)
    (folder / "checkpoints").mkdir()
    shutil.copy(tiny_checkpoint, folder / "checkpoints" / "phase1_best_model.pth")
    store = Store.open(folder / "workbench.db")
    store.logs.add(seed_logs())
    store.close()
    return folder


@contextlib.contextmanager
def served_app(config: Path):
    """The real app (`streamlit run`) on a free local port with env ORCHESTAI_CONFIG = `config`; its URL,
    once it answers its health check. Stopped on exit."""
    port = _free_port()
    env = {**os.environ, "ORCHESTAI_CONFIG": str(config), "HF_HUB_OFFLINE": "1"}
    env.pop("ORCHESTAI_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "workbench/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def app_url(app_home):
    try:
        with served_app(app_home / "config.yaml") as url:
            yield url
    finally:
        store = Store.open(app_home / "workbench.db")  # runs launched from the pages live on their own
        kill_active_runs(store)
        store.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser tab that records every request and dialog."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside_requests(self) -> list[str]:
        """Requests to anything but the local app (data:, blob: and about: URLs stay in the browser)."""
        outside = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about"):
                continue
            if parsed.hostname != "127.0.0.1":
                outside.append(url)
        return outside

    def dag_frame(self):
        """The frame of the page's workflow graph, once vis-network has drawn it."""
        handle = self.page.locator('iframe[title="Workflow graph"]').element_handle()
        frame = handle.content_frame()
        frame.wait_for_selector("canvas")
        frame.wait_for_function("window.dagNodes !== undefined")
        return frame

    def download(self, button) -> Path:
        """The file a download button gives, clicked once the app's run has ended: a click on a button that a
        run still in progress is drawing again can be lost (the tab then never sees a download)."""
        button.wait_for()
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
        with self.page.expect_download() as download:
            button.click()
        return Path(download.value.path())

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def visit(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield Visit(page)
    context.close()
