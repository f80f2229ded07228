"""The Logs page's facets in a real browser, over the bundled corpus: a template that is not among the
50 most frequent can be typed into the Template filter, chosen, and narrows the list."""

from pathlib import Path

import pytest
from conftest import served_app

from orchestai_core.ingest import import_file
from orchestai_core.store import Store
from orchestai_core.synth.templates import TEMPLATES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "assets" / "default_logs.jsonl.gz"


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
    with served_app(config) as url:
        yield url, templates


def test_a_template_beyond_the_first_fifty_can_be_typed_chosen_and_filters_the_list(corpus_app, visit):
    url, templates = corpus_app
    assert len(templates) == len(TEMPLATES) > 50  # the corpus holds every template of the generator
    name, count = templates[-1]  # the rarest: far beyond the 50 most frequent
    page = visit.page
    page.goto(f"{url}/logs")
    page.get_by_role("heading", name="Logs", exact=True).wait_for()
    page.get_by_text(f"{sum(n for _, n in templates):,} logs match · showing").wait_for()  # the whole corpus

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
