"""The Planner page in a real browser: type an instruction, press Plan, and the DAG draws offline with
one node per row of the sub-task table, with the planning-time badge shown."""

import json
import re

import pytest

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
INSTRUCTION = "Summarize board_minutes.pdf and translate the summary into French and German."


def _plan(visit, url, text):
    visit.page.goto(f"{url}/planner")
    visit.page.get_by_role("heading", name="Planner", exact=True).wait_for()
    box = visit.page.get_by_label("Instruction", exact=True)
    box.fill(text)
    box.press("Control+Enter")  # commits the text area's value, as leaving the field does
    visit.page.locator('[data-testid="stButton"] button', has_text="Plan").click()


def _table_rows(visit) -> int:
    """Data rows of the sub-task table (the grid's aria row count includes its header row)."""
    grid = visit.page.locator('[data-testid="stDataFrame"] [role="grid"]').first
    grid.wait_for(state="attached")  # glide-data-grid keeps an accessible table behind its canvas
    return int(grid.get_attribute("aria-rowcount")) - 1


def test_planning_an_instruction_draws_its_dag_offline(app_url, visit):
    _plan(visit, app_url, INSTRUCTION)
    frame = visit.dag_frame()
    badge = visit.page.get_by_text(re.compile(r"planned in [\d,]+ ms"))
    badge.wait_for()
    nodes = frame.evaluate("window.dagNodes.length")
    assert nodes >= 1
    assert nodes == _table_rows(visit)
    steps = visit.page.locator('[data-testid="stMetric"]', has_text="Steps").locator('[data-testid="stMetricValue"]')
    assert steps.inner_text() == str(nodes)
    assert visit.page.get_by_text("valid DAG").count() == 1
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    visit.page.set_viewport_size({"width": 1400, "height": 1700})  # the whole plan in one picture
    visit.page.wait_for_timeout(300)
    shot = visit.screenshot("planner")
    visit.page.locator('iframe[title="Workflow graph"]').screenshot(path=str(shot.with_name("planner-dag.png")))
    assert visit.outside_requests() == []


def test_markup_in_an_instruction_stays_text(app_url, visit):
    hostile = f"Translate {XSS} into French </script><script>alert(2)</script>"
    _plan(visit, app_url, hostile)
    visit.dag_frame()
    shown = visit.page.locator('[data-testid="stText"]', has_text="Translate")
    assert shown.inner_text() == hostile
    assert visit.page.locator('img[src="x"]').count() == 0
    visit.page.wait_for_timeout(500)  # give a smuggled handler every chance to fire
    assert visit.dialogs == []
    assert visit.outside_requests() == []


def test_the_downloaded_plan_matches_the_drawn_dag(app_url, visit):
    _plan(visit, app_url, INSTRUCTION)
    frame = visit.dag_frame()
    plan = json.loads(visit.download(visit.page.get_by_role("button", name=re.compile("Download the plan")))
                      .read_text(encoding="utf-8"))
    assert plan["instruction"] == INSTRUCTION
    assert sorted(frame.evaluate("window.dagNodes.getIds()")) == sorted(t["id"] for t in plan["subtasks"])
    assert set(plan) >= {"id", "subtasks", "est_cost_usd", "est_latency_ms", "critical_path", "meta"}
    assert visit.outside_requests() == []
