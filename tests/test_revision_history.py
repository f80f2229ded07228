"""What changed between two revisions of a log, field by field, with both values in full."""

import copy

from workbench.components.revision_history import ABSENT, FieldChange, field_changes


def test_each_changed_field_comes_with_its_values_before_and_after(spec_example):
    new = copy.deepcopy(spec_example)
    new["instruction"] = "Summarize it."
    new["subtasks"][1]["worker"] = "gpt-4o"
    new["subtasks"].pop(3)
    new["subtasks"].append({"id": "s5", "type": "review", "depends_on": ["s3"]})
    del new["success"]
    assert field_changes(spec_example, new) == [
        FieldChange("instruction", '"Summarize the attached report and translate the summary into French and German."',
                    '"Summarize it."'),
        FieldChange("success", "true", ABSENT),
        FieldChange("subtask s4", '{"id": "s4", "type": "translate", "worker": "nllb-200", "depends_on": ["s2"], '
                                  '"status": "success", "cost_usd": 0.0002, "latency_ms": 455}', ABSENT),
        FieldChange("subtask s5", ABSENT, '{"id": "s5", "type": "review", "depends_on": ["s3"]}'),
        FieldChange("s2.worker", '"gpt-4o-mini"', '"gpt-4o"'),
    ]


def test_a_long_value_is_kept_whole_so_a_change_at_its_end_is_seen(spec_example):
    new = copy.deepcopy(spec_example)
    new["instruction"] = "word " * 100 + "French."
    newer = copy.deepcopy(new)
    newer["instruction"] = "word " * 100 + "German."
    [change] = field_changes(new, newer)
    assert change.before.endswith('French."') and change.after.endswith('German."')


def test_no_change_and_a_new_order_of_subtasks(spec_example):
    assert field_changes(spec_example, copy.deepcopy(spec_example)) == []
    swapped = copy.deepcopy(spec_example)
    swapped["subtasks"][2], swapped["subtasks"][3] = swapped["subtasks"][3], swapped["subtasks"][2]
    assert field_changes(spec_example, swapped) == [FieldChange("subtask order", "s1, s2, s3, s4", "s1, s2, s4, s3")]
