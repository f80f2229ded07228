"""docs/log-format.md, the project's copy of the format, against the schema: the same fields, the same
required ones, every documented field checked, and examples that validate."""

import copy
import json
import re
from pathlib import Path

import pytest

from orchestai_core.schema import (
    FORMAT_VERSION,
    LOG_FIELDS,
    REQUIRED_LOG_FIELDS,
    REQUIRED_SUBTASK_FIELDS,
    SUBTASK_FIELDS,
    LogError,
    validate_log,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "log-format.md"


def field_table(section: str) -> dict[str, tuple[str, bool]]:
    """{field: (type, required)} from the table under `## <section>` (a row may name several fields)."""
    text = DOC.read_text(encoding="utf-8")
    body = re.search(rf"^## {section}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert body, f"no '## {section}' section in {DOC}"
    rows = [line for line in body.group(1).splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        for name in re.findall(r"`([^`]+)`", cells[0]):
            assert name not in table, f"{section}: {name} documented twice"
            table[name] = (cells[1], cells[2].startswith("yes"))
    return table


def wrong_value(type_text: str):
    """A value the documented type excludes."""
    return 5 if type_text.startswith(("string", "ISO-8601")) else "not-valid"


def minimal_log():
    return {"id": "m", "instruction": "Do it", "subtasks": [{"id": "a", "type": "t", "worker": "w"}]}


def test_the_doc_is_the_version_the_schema_implements():
    assert DOC.read_text(encoding="utf-8").startswith(f"# Execution log format, version {FORMAT_VERSION}\n")


@pytest.mark.parametrize("section, fields, required", [
    ("Log", LOG_FIELDS, REQUIRED_LOG_FIELDS), ("Subtask", SUBTASK_FIELDS, REQUIRED_SUBTASK_FIELDS)])
def test_documented_fields_and_required_ones_are_the_schemas(section, fields, required):
    table = field_table(section)
    assert set(table) == set(fields)
    assert {name for name, (_, needed) in table.items() if needed} == set(required)


@pytest.mark.parametrize("name, type_text", sorted((n, t) for n, (t, _) in field_table("Log").items()))
def test_every_documented_log_field_is_checked(name, type_text):
    log = minimal_log()
    log[name] = wrong_value(type_text)
    with pytest.raises(LogError, match=rf"^{name}: "):
        validate_log(log)


@pytest.mark.parametrize("name, type_text", sorted((n, t) for n, (t, _) in field_table("Subtask").items()))
def test_every_documented_subtask_field_is_checked(name, type_text):
    log = minimal_log()
    log["subtasks"][0][name] = wrong_value(type_text)
    with pytest.raises(LogError, match=rf"^subtasks\[0\]\.{name}: "):
        validate_log(log)


def test_every_example_in_the_doc_is_a_valid_log(spec_example_line):
    blocks = re.findall(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 2 and blocks[0] == spec_example_line
    for block in blocks:
        log = json.loads(block)
        assert validate_log(copy.deepcopy(log)) == log
    assert json.loads(blocks[1])["subtasks"][0]["choice_prob"] == 0.7
