"""Training from the browser: launch a tiny run on the Train page, watch its loss curve grow live,
stop it, all without a request leaving 127.0.0.1."""

import pytest

pytestmark = pytest.mark.browser

CURVE_POINTS = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot && plot.data ? plot.data.filter(t => t.name === 'train (raw)').map(t => t.x.length)[0] || 0 : 0;
}"""


def test_launch_watch_the_curve_grow_and_stop(app_url, visit):
    page = visit.page
    page.goto(f"{app_url}/train")
    page.get_by_role("heading", name="Train", exact=True).wait_for()
    epochs = page.get_by_label("Epochs")
    epochs.fill("400")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("· running", exact=False).first.wait_for(timeout=120_000)

    page.wait_for_function(f"({CURVE_POINTS})() >= 3", timeout=120_000)
    before = page.evaluate(CURVE_POINTS)
    page.wait_for_function(f"({CURVE_POINTS})() > {before}", timeout=120_000)  # the fragment redraws it
    visit.screenshot("train-live")

    page.get_by_role("button", name="Stop").click()
    page.get_by_text("· stopped", exact=False).first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Resume").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    visit.screenshot("train-stopped")
    assert visit.outside_requests() == []
