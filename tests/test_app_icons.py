"""Icons are Streamlit's bundled Material Symbols (`:material/name:`), never emoji: without an emoji font
(a bare Linux server or desktop) emoji show as empty boxes."""

import ast
from pathlib import Path

import pytest
from streamlit.material_icon_names import ALL_MATERIAL_ICONS

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "workbench" / "app.py"
UI_FILES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("workbench/**/*.py")])
# Characters shown as emoji by default (Unicode's Emoji_Presentation), which need an emoji font, and the
# selector that asks for emoji presentation. Text symbols such as ✓ ✗ ⊘ render with ordinary fonts.
EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x231A, 0x231B), (0x23E9, 0x23FA), (0x2614, 0x2615), (0x2648, 0x2653),
                (0x26A1, 0x26A1), (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26D4, 0x26D4),
                (0x26EA, 0x26EA), (0x26F2, 0x26F5), (0x26FA, 0x26FD), (0x2705, 0x2705), (0x270A, 0x270B),
                (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2757), (0x2795, 0x2797),
                (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
                (0xFE0F, 0xFE0F))


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


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_icons_across_the_workbench_are_material_names(path):
    bad = [(line, value) for line, _, value in _icon_arguments(path) if value is not None and not _is_material(value)]
    assert bad == []


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_text_of_the_workbench_carries_an_emoji(path):
    """Icons passed in markdown (`:material/…:` in a heading) or in a table of labels count too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, ch) for ch in node.value
                      if any(low <= ord(ch) <= high for low, high in EMOJI_RANGES)]
    assert found == []
