"""First start in a real browser: a fresh home with no trained checkpoint, the project's own config (the
packaged MiniLM encoder) and the bundled default planner; the Planner page plans at once."""

import os

import pytest
import yaml
from conftest import served_app

from orchestai_core.config import load_config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def first_start_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("first-start")
    config = load_config()
    config.pop("_config_path")
    assert os.path.isfile(config["paths"]["default_planner"]), "the bundled planner is missing: run `make planner`"
    config["paths"].update(database=str(folder / "workbench.db"), checkpoints=str(folder / "checkpoints"),
                           runs=str(folder / "runs"))
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with served_app(folder / "config.yaml") as url:
        yield url


def test_the_bundled_planner_plans_a_request_on_first_start(first_start_url, visit):
    page = visit.page
    page.set_default_timeout(90_000)  # the first visit loads the encoder
    page.goto(f"{first_start_url}/planner")
    page.get_by_role("heading", name="Planner", exact=True).wait_for()
    page.get_by_text("Held-out quality (200 fresh synthetic logs").wait_for()
    assert page.get_by_text("Start a quick training run").count() == 0
    request = "transcribe the meeting recording and email the action items to the team"  # issue 13's new user
    page.get_by_role("textbox", name="Instruction").fill(request)
    page.get_by_role("button", name="Plan", exact=True).click()
    frame = visit.dag_frame()
    types = frame.evaluate("window.dagNodes.map(n => n.label)")
    visit.screenshot("first-start-planner")
    assert page.locator('[data-testid="stException"]').count() == 0
    joined = " ".join(types)
    assert "transcribe_audio" in joined and "send_email" in joined, types
    assert visit.outside_requests() == []
