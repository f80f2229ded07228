"""Icons are Streamlit's bundled Material Symbols (`:material/name:`), never emoji: without an emoji font
(a bare Linux server or desktop) emoji show as empty boxes."""

import ast
from pathlib import Path

import pytest
from streamlit.material_icon_names import ALL_MATERIAL_ICONS

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "workbench" / "app.py"
UI_FILES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("workbench/**/*.py")])
NOT_YET = {"workbench/components/run_monitor.py"}  # its emoji go with the run monitor's own work


def _icon_arguments(path: Path) -> list[tuple[int, str, object]]:
    """(line, keyword, value) of every icon= or page_icon= argument in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found += [(node.lineno, kw.arg, ast.literal_eval(kw.value) if isinstance(kw.value, ast.Constant) else None)
                      for kw in node.keywords if kw.arg in ("icon", "page_icon")]
    return found


def _is_material(value: object) -> bool:
    return (isinstance(value, str) and value.startswith(":material/") and value.endswith(":")
            and value[len(":material/"):-1] in ALL_MATERIAL_ICONS)


def test_every_page_of_the_navigation_has_a_material_icon_and_the_app_a_favicon_of_its_own():
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    pages = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"]
    icons = [value for _, name, value in _icon_arguments(APP) if name == "icon"]
    assert len(pages) == len(icons) == 7
    assert all(_is_material(value) for value in icons), icons
    # not :material/…: here: Streamlit fetches a material page icon from fonts.gstatic.com
    assert [value for _, name, value in _icon_arguments(APP) if name == "page_icon"] == [None]
    assert (APP.parent / "favicon.svg").read_text().startswith("<svg")


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="still has emoji icons"))
    if str(p.relative_to(ROOT)) in NOT_YET else p for p in UI_FILES], ids=lambda p: str(p.relative_to(ROOT)))
def test_icons_across_the_workbench_are_material_names(path):
    bad = [(line, value) for line, _, value in _icon_arguments(path) if value is not None and not _is_material(value)]
    assert bad == []
