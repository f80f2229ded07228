"""Uploading something that is not a log file in a real browser: one error naming the file and why,
never a green success, nothing rejected line by line."""

import pytest

pytestmark = pytest.mark.browser

BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 25  # an image renamed .jsonl: 26 "lines"


@pytest.mark.parametrize("name, content, reason", [
    ("photo.jsonl", BINARY, "photo.jsonl: not a log file: it holds binary data"),
    ("empty.jsonl", b"", "empty.jsonl: empty: no logs in it"),
])
def test_a_file_that_is_not_a_log_file_shows_one_error_and_no_success(app_url, visit, tmp_path, name, content,
                                                                      reason):
    upload = tmp_path / name
    upload.write_bytes(content)
    visit.page.goto(f"{app_url}/import_export")
    visit.page.get_by_role("heading", name="Import and export", exact=True).wait_for()
    visit.page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(upload))
    visit.page.get_by_role("button", name=f"Import {name}").click()
    errors = visit.page.locator('[data-testid="stAlertContentError"]')
    errors.first.wait_for()
    visit.page.wait_for_load_state("networkidle")
    assert errors.count() == 1 and errors.first.inner_text().startswith(reason)
    assert visit.page.locator('[data-testid="stAlertContentSuccess"]').count() == 0
    assert visit.page.locator('[data-testid="stMetricValue"]').count() == 0
    assert visit.page.locator('[data-testid="stException"]').count() == 0
    visit.screenshot(f"upload-not-a-log-file-{name}")
    assert visit.outside_requests() == []
