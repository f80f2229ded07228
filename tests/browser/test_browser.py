"""The running workbench in a real browser: every page renders, nothing leaves 127.0.0.1, the DAG
draws, log text never runs as markup or script, and the keyboard shortcuts move between logs."""

import json

import pytest

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"  # the payload the seeded database carries (see conftest)
PAGES = {"home": "", "logs": "logs", "import_export": "import_export", "train": "train", "runs": "runs",
         "planner": "planner", "evaluate": "evaluate"}
TITLES = {"home": "OrchestAI Workbench", "logs": "Logs", "import_export": "Import and export", "train": "Train",
          "runs": "Runs", "planner": "Planner", "evaluate": "Evaluate"}


def _open(visit, url, title):
    visit.page.goto(url)
    visit.page.get_by_role("heading", name=title, exact=True).wait_for()
    visit.page.wait_for_load_state("networkidle")


def _hover_node(visit, frame, node_id):
    """Move the mouse onto a node and return vis-network's tooltip."""
    graph = visit.page.locator('iframe[title="Workflow graph"]')
    graph.scroll_into_view_if_needed()
    box = graph.bounding_box()
    point = frame.evaluate(f"window.dagNetwork.canvasToDOM(window.dagNetwork.getPositions(['{node_id}'])['{node_id}'])")
    offset = frame.evaluate("(() => { const r = document.getElementById('dag').getBoundingClientRect();"
                            " return {x: r.left, y: r.top}; })()")
    visit.page.mouse.move(box["x"] + offset["x"] + point["x"], box["y"] + offset["y"] + point["y"], steps=4)
    tooltip = frame.locator("div.vis-tooltip")
    tooltip.wait_for(state="visible")
    return tooltip


def _show_dag(visit, name):
    graph = visit.page.locator('iframe[title="Workflow graph"]')
    graph.scroll_into_view_if_needed()
    visit.screenshot(name)
    graph.screenshot(path=str(visit.screenshot(name).with_name(f"{name}-dag.png")))


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_without_errors_or_outside_requests(app_url, visit, name):
    _open(visit, f"{app_url}/{PAGES[name]}", TITLES[name])
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    visit.screenshot(f"page-{name}")
    assert visit.requests, "no request recorded"
    assert visit.outside_requests() == []


def test_open_log_draws_its_dag_offline(app_url, visit):
    console = []
    visit.page.on("console", lambda message: console.append(message.text))
    _open(visit, f"{app_url}/logs?log=log-1", "Logs")
    frame = visit.dag_frame()
    graph = visit.page.locator('iframe[title="Workflow graph"]')
    assert graph.get_attribute("sandbox") == "allow-scripts"  # never with allow-same-origin: it could escape
    assert not [text for text in console if "escape its sandboxing" in text]
    assert frame.evaluate("origin") == "null"  # the graph cannot reach the app
    assert frame.evaluate("window.dagNodes.length") == 4
    assert frame.evaluate("window.dagEdges.length") == 3
    assert frame.locator("canvas").count() == 1
    assert frame.evaluate("document.getElementById('dag').getBoundingClientRect().width") > 300
    visit.page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    _show_dag(visit, "log-detail")
    assert visit.outside_requests() == []


def test_script_in_a_log_shows_as_text_and_never_runs(app_url, visit):
    _open(visit, f"{app_url}/logs?log=log-xss", "Logs")
    frame = visit.dag_frame()
    assert frame.evaluate("window.dagNodes.length") == 4
    assert frame.evaluate("window.dagNodes.get('s1').label") == f"extract {XSS}"
    legend = frame.locator("#legend").inner_text()
    assert XSS in legend
    tooltip = _hover_node(visit, frame, "s1")
    assert f"</script>{XSS}" in tooltip.inner_text()
    assert tooltip.locator("img").count() == 0
    instruction = visit.page.locator('[data-testid="stText"]', has_text="Translate")
    assert instruction.inner_text() == f"Translate {XSS} into French </script><script>alert(2)</script>"
    for scope in (visit.page, frame):
        assert scope.locator('img[src="x"]').count() == 0
    visit.page.wait_for_timeout(500)  # give a smuggled onerror handler every chance to fire
    assert visit.dialogs == []
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    _show_dag(visit, "log-xss")
    assert visit.outside_requests() == []


def test_keyboard_shortcuts_move_between_logs(app_url, visit):
    _open(visit, f"{app_url}/logs?log=log-1", "Logs")
    visit.page.locator("button", has_text="Next ▶").first.wait_for()
    visit.page.keyboard.press("j")
    visit.page.get_by_role("heading", name="Log log-2").wait_for()
    visit.page.wait_for_function("location.search.includes('log=log-2')")
    visit.page.keyboard.press("k")
    visit.page.get_by_role("heading", name="Log log-1").wait_for()
    visit.page.wait_for_function("location.search.includes('log=log-1')")
    note = visit.page.get_by_label("Review note (optional)")
    note.click()
    note.press_sequentially("j")  # typing in a text field is not a shortcut
    visit.page.wait_for_timeout(800)
    assert "log=log-1" in visit.page.url
    assert note.input_value() == "j"


def test_upload_and_export_in_the_browser(app_url, visit, tmp_path):
    good = json.dumps({"id": "upl-1", "instruction": "Draft a reply", "subtasks": [{"id": "a", "type": "draft"}]})
    upload = tmp_path / "upload.jsonl"
    upload.write_text(good + "\n{broken\n")
    _open(visit, f"{app_url}/import_export", "Import and export")
    visit.page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload))
    visit.page.get_by_role("button", name="Import upload.jsonl").click()
    visit.page.get_by_role("button", name="Download the 1 rejected lines").wait_for()
    values = visit.page.locator('[data-testid="stMetricValue"]')
    values.nth(3).wait_for()
    assert values.all_inner_texts() == ["1", "0", "0", "1"]
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    visit.screenshot("import-report")
    visit.page.get_by_text("the logs matching the Logs page filter").click()
    button = visit.page.get_by_role("button", name="Download orchestai_logs.jsonl (7 logs)")
    lines = visit.download(button).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines][-2:] == ["log-xss", "upl-1"]
    assert visit.outside_requests() == []
