"""The log format: every rule of the spec, with errors that name the field."""

import copy

import pytest

from orchestai_core.schema import LogError, canonical_json, log_totals, parse_json, validate_log


def broken(spec_example, change):
    log = copy.deepcopy(spec_example)
    change(log)
    return log


def test_spec_example_is_valid_and_returned_unchanged(spec_example):
    assert validate_log(copy.deepcopy(spec_example)) == spec_example


def test_meta_and_optional_fields_are_accepted(spec_example):
    spec_example.update(meta={"anything": [1, {"x": None}]}, source="file.jsonl",
                        created_at="2026-03-01T10:00:00Z", total_cost_usd=0.1, total_latency_ms=5)
    spec_example["subtasks"][0].update(tokens_in=10, tokens_out=0, description="d", worker=None)
    assert validate_log(spec_example)["meta"] == {"anything": [1, {"x": None}]}


@pytest.mark.parametrize("change, message", [
    (lambda l: l.pop("id"), r"^id: required field missing"),
    (lambda l: l.update(id=""), r"^id: must not be empty"),
    (lambda l: l.update(id="x" * 129), r"^id: longer than 128"),
    (lambda l: l.update(id=7), r"^id: expected a string, got integer"),
    (lambda l: l.update(instruction="   "), r"^instruction: must not be empty"),
    (lambda l: l.pop("subtasks"), r"^subtasks: required field missing"),
    (lambda l: l.update(subtasks=[]), r"^subtasks: must hold 1 to 64 items, got 0"),
    (lambda l: l.update(subtasks={"a": 1}), r"^subtasks: expected an array, got object"),
    (lambda l: l.update(subtasks=[{"id": f"s{i}", "type": "t"} for i in range(65)]), r"must hold 1 to 64 items, got 65"),
    (lambda l: l.update(success="yes"), r"^success: expected a boolean, got string"),
    (lambda l: l.update(total_cost_usd=-1), r"^total_cost_usd: must be ≥ 0"),
    (lambda l: l.update(total_latency_ms=True), r"^total_latency_ms: expected a number, got boolean"),
    (lambda l: l.update(created_at="yesterday"), r"^created_at: not an ISO-8601"),
    (lambda l: l.update(meta=[1]), r"^meta: expected an object"),
    (lambda l: l.update(colour="red"), r"^colour: unknown top-level field"),
    (lambda l: l["subtasks"][1].pop("type"), r"^subtasks\[1\]\.type: required field missing"),
    (lambda l: l["subtasks"][1].update(type=""), r"^subtasks\[1\]\.type: must not be empty"),
    (lambda l: l["subtasks"][2].update(id="s1"), r"^subtasks\[2\]\.id: duplicate subtask id 's1'"),
    (lambda l: l["subtasks"][3].update(depends_on=["s9"]), r"^subtasks\[3\]\.depends_on: unknown subtask id 's9'"),
    (lambda l: l["subtasks"][3].update(depends_on=["s4"]), r"^subtasks\[3\]\.depends_on: subtask 's4' depends on itself"),
    (lambda l: l["subtasks"][0].update(depends_on=["s3"]), r"dependency cycle s1 -> s2 -> s3 -> s1"),
    (lambda l: l["subtasks"][3].update(depends_on="s2"), r"^subtasks\[3\]\.depends_on: expected an array"),
    (lambda l: l["subtasks"][0].update(status="done"), r"^subtasks\[0\]\.status: unknown value 'done'"),
    (lambda l: l["subtasks"][0].update(cost_usd=-0.5), r"^subtasks\[0\]\.cost_usd: must be ≥ 0"),
    (lambda l: l["subtasks"][0].update(latency_ms="fast"), r"^subtasks\[0\]\.latency_ms: expected a number"),
    (lambda l: l["subtasks"][0].update(tokens_in=1.5), r"^subtasks\[0\]\.tokens_in: expected an integer"),
    (lambda l: l["subtasks"][0].update(cost_usd=float("nan")), r"^subtasks\[0\]\.cost_usd"),
    (lambda l: l["subtasks"][0].update(worker=3), r"^subtasks\[0\]\.worker: expected a string"),
    (lambda l: l["subtasks"].append("s5"), r"^subtasks\[4\]: expected an object, got string"),
])
def test_invalid_logs_are_rejected_with_the_field_named(spec_example, change, message):
    with pytest.raises(LogError, match=message):
        validate_log(broken(spec_example, change))


def test_a_log_must_be_an_object():
    with pytest.raises(LogError, match="^log: expected a JSON object, got array"):
        validate_log([1, 2])


def test_json_parsing_refuses_nan_and_infinity():
    for text in ('{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'):
        with pytest.raises(ValueError):
            parse_json(text)


def test_canonical_form_is_stable_whatever_the_key_order(spec_example):
    reordered = dict(reversed(list(spec_example.items())))
    assert canonical_json(reordered) == canonical_json(spec_example)
    assert parse_json(canonical_json(spec_example)) == spec_example


def test_totals_are_derived_when_absent_and_kept_when_given(spec_example):
    cost, latency = log_totals(spec_example)
    assert cost == pytest.approx(0.0016)
    assert latency == pytest.approx(640 + 1810 + 455)  # the critical path, not the sum
    spec_example.update(total_cost_usd=1.0, total_latency_ms=2.0)
    assert log_totals(spec_example) == (1.0, 2.0)
    for s in spec_example["subtasks"]:
        s.pop("cost_usd"), s.pop("latency_ms")
    del spec_example["total_cost_usd"], spec_example["total_latency_ms"]
    assert log_totals(spec_example) == (None, None)
