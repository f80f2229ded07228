"""The log format: every rule of the spec, with errors that start with the offending field's path."""

import copy
import json
import math

import pytest

from orchestai_core.schema import LogError, canonical_json, log_totals, parse_json, validate_log


def broken(spec_example, change):
    log = copy.deepcopy(spec_example)
    change(log)
    return log


def chain(n):
    """n subtasks s0 <- s1 <- … each depending on the one before."""
    return [{"id": f"s{i}", "type": "t", "depends_on": [f"s{i - 1}"] if i else []} for i in range(n)]


def test_spec_example_text_is_valid_and_returned_unchanged(spec_example_line):
    log = parse_json(spec_example_line)
    assert validate_log(log) is log
    assert log == json.loads(spec_example_line)


def test_meta_is_accepted_and_kept_as_is(spec_example):
    meta = {"anything": [1, {"x": None}], "nested": {"deep": "ok"}}
    spec_example["meta"] = copy.deepcopy(meta)
    assert validate_log(spec_example)["meta"] == meta


def test_every_optional_field_is_accepted(spec_example):
    spec_example.update(source="file.jsonl", created_at="2026-03-01T10:00:00Z", total_cost_usd=0,
                        total_latency_ms=5.5, template="t", success=False)
    spec_example["subtasks"][0].update(tokens_in=10, tokens_out=0, description="d", worker=None, status="failed")
    spec_example["subtasks"][1].update(status="skipped", cost_usd=0, latency_ms=0.0)
    del spec_example["subtasks"][2]["depends_on"]  # defaults to []
    assert validate_log(spec_example) == spec_example


def test_a_minimal_log_needs_only_id_instruction_and_subtasks_with_id_and_type():
    log = {"id": "m", "instruction": "Do it", "subtasks": [{"id": "a", "type": "t"}]}
    assert validate_log(log) == log


def test_limits_are_inclusive_64_subtasks_and_128_char_ids(spec_example):
    spec_example.update(id="x" * 128, subtasks=chain(64))
    assert validate_log(spec_example)["id"] == "x" * 128


@pytest.mark.parametrize("created_at", ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00+02:00",
                                        "2026-03-01T10:00:00.123456", "2026-03-01"])
def test_iso_8601_dates_are_accepted(spec_example, created_at):
    spec_example["created_at"] = created_at
    assert validate_log(spec_example)["created_at"] == created_at


@pytest.mark.parametrize("change, message", [
    # required fields: missing, empty, wrong type
    (lambda l: l.pop("id"), r"^id: required field missing"),
    (lambda l: l.update(id=""), r"^id: must not be empty"),
    (lambda l: l.update(id="x" * 129), r"^id: longer than 128 characters \(129\)"),
    (lambda l: l.update(id=7), r"^id: expected a string, got integer"),
    (lambda l: l.update(id=None), r"^id: expected a string, got null"),
    (lambda l: l.pop("instruction"), r"^instruction: required field missing"),
    (lambda l: l.update(instruction="   "), r"^instruction: must not be empty"),
    (lambda l: l.update(instruction=["a"]), r"^instruction: expected a string, got array"),
    (lambda l: l.pop("subtasks"), r"^subtasks: required field missing"),
    (lambda l: l.update(subtasks=[]), r"^subtasks: must hold 1 to 64 items, got 0"),
    (lambda l: l.update(subtasks={"a": 1}), r"^subtasks: expected an array, got object"),
    (lambda l: l.update(subtasks=chain(65)), r"^subtasks: must hold 1 to 64 items, got 65"),
    # optional top-level fields
    (lambda l: l.update(success="yes"), r"^success: expected a boolean, got string"),
    (lambda l: l.update(success=1), r"^success: expected a boolean, got integer"),
    (lambda l: l.update(total_cost_usd=-1), r"^total_cost_usd: must be ≥ 0"),
    (lambda l: l.update(total_cost_usd=True), r"^total_cost_usd: expected a number, got boolean"),
    (lambda l: l.update(total_cost_usd=float("nan")), r"^total_cost_usd: must be finite"),
    (lambda l: l.update(total_latency_ms=True), r"^total_latency_ms: expected a number, got boolean"),
    (lambda l: l.update(total_latency_ms=float("inf")), r"^total_latency_ms: must be finite"),
    (lambda l: l.update(total_latency_ms="5"), r"^total_latency_ms: expected a number, got string"),
    (lambda l: l.update(template=3), r"^template: expected a string, got integer"),
    (lambda l: l.update(source=False), r"^source: expected a string, got boolean"),
    (lambda l: l.update(created_at="yesterday"), r"^created_at: not an ISO-8601 date-time: 'yesterday'"),
    (lambda l: l.update(created_at="2026-13-01"), r"^created_at: not an ISO-8601"),
    (lambda l: l.update(created_at=""), r"^created_at: not an ISO-8601"),
    (lambda l: l.update(created_at=20260301), r"^created_at: expected a string, got integer"),
    (lambda l: l.update(meta=[1]), r"^meta: expected an object, got array"),
    (lambda l: l.update(colour="red"), r"^colour: unknown top-level field \(put extra data under 'meta'\)"),
    (lambda l: l.update(worker="gpt-4o"), r"^worker: unknown top-level field"),
    # subtasks: shape, required fields, types
    (lambda l: l["subtasks"].append("s5"), r"^subtasks\[4\]: expected an object, got string"),
    (lambda l: l["subtasks"][1].pop("type"), r"^subtasks\[1\]\.type: required field missing"),
    (lambda l: l["subtasks"][1].update(type=""), r"^subtasks\[1\]\.type: must not be empty"),
    (lambda l: l["subtasks"][1].update(type=5), r"^subtasks\[1\]\.type: expected a string, got integer"),
    (lambda l: l["subtasks"][2].pop("id"), r"^subtasks\[2\]\.id: required field missing"),
    (lambda l: l["subtasks"][2].update(id=" "), r"^subtasks\[2\]\.id: must not be empty"),
    (lambda l: l["subtasks"][0].update(worker=3), r"^subtasks\[0\]\.worker: expected a string, got integer"),
    (lambda l: l["subtasks"][0].update(worker=""), r"^subtasks\[0\]\.worker: must not be empty"),
    (lambda l: l["subtasks"][0].update(description=["d"]), r"^subtasks\[0\]\.description: expected a string"),
    (lambda l: l["subtasks"][0].update(status="done"),
     r"^subtasks\[0\]\.status: unknown value 'done' \(expected one of success, failed, skipped\)"),
    (lambda l: l["subtasks"][0].update(status="SUCCESS"), r"^subtasks\[0\]\.status: unknown value 'SUCCESS'"),
    (lambda l: l["subtasks"][0].update(status=None), r"^subtasks\[0\]\.status: unknown value None"),
    # subtasks: numbers (booleans are not numbers, NaN and negatives are refused)
    (lambda l: l["subtasks"][0].update(cost_usd=-0.5), r"^subtasks\[0\]\.cost_usd: must be ≥ 0, got -0.5"),
    (lambda l: l["subtasks"][0].update(cost_usd=True), r"^subtasks\[0\]\.cost_usd: expected a number, got boolean"),
    (lambda l: l["subtasks"][0].update(cost_usd=float("nan")), r"^subtasks\[0\]\.cost_usd: must be finite"),
    (lambda l: l["subtasks"][0].update(cost_usd=float("inf")), r"^subtasks\[0\]\.cost_usd: must be finite"),
    (lambda l: l["subtasks"][0].update(latency_ms="fast"),
     r"^subtasks\[0\]\.latency_ms: expected a number, got string"),
    (lambda l: l["subtasks"][0].update(latency_ms=-1), r"^subtasks\[0\]\.latency_ms: must be ≥ 0"),
    (lambda l: l["subtasks"][0].update(latency_ms=False),
     r"^subtasks\[0\]\.latency_ms: expected a number, got boolean"),
    (lambda l: l["subtasks"][0].update(tokens_in=1.5), r"^subtasks\[0\]\.tokens_in: expected an integer, got number"),
    (lambda l: l["subtasks"][0].update(tokens_in=True), r"^subtasks\[0\]\.tokens_in: expected an integer, got boolean"),
    (lambda l: l["subtasks"][0].update(tokens_out=-3), r"^subtasks\[0\]\.tokens_out: must be ≥ 0"),
    # dependencies
    (lambda l: l["subtasks"][3].update(depends_on="s2"), r"^subtasks\[3\]\.depends_on: expected an array, got string"),
    (lambda l: l["subtasks"][3].update(depends_on=[2]),
     r"^subtasks\[3\]\.depends_on\[0\]: expected a string, got integer"),
    (lambda l: l["subtasks"][2].update(id="s1"),
     r"^subtasks\[2\]\.id: duplicate subtask id 's1' \(also subtasks\[0\]\)"),
    (lambda l: l["subtasks"][3].update(depends_on=["s9"]), r"^subtasks\[3\]\.depends_on: unknown subtask id 's9'"),
    (lambda l: l["subtasks"][3].update(depends_on=["s4"]),
     r"^subtasks\[3\]\.depends_on: subtask 's4' depends on itself"),
    (lambda l: l["subtasks"][0].update(depends_on=["s3"]),
     r"^subtasks\[\d\]\.depends_on: dependency cycle s1 -> s2 -> s3 -> s1"),
    (lambda l: (l["subtasks"][2].update(depends_on=["s4"]), l["subtasks"][3].update(depends_on=["s3"])),
     r"^subtasks\[\d\]\.depends_on: dependency cycle s\d -> s\d -> s\d"),
])
def test_invalid_logs_are_rejected_with_the_field_named(spec_example, change, message):
    with pytest.raises(LogError, match=message):
        validate_log(broken(spec_example, change))


@pytest.mark.parametrize("inside, outside", [(1, 1.0000001), (1.0, 2), (1e-12, 0), (0.25, -0.25)])
def test_choice_prob_is_kept_inside_the_interval_0_exclusive_1_inclusive_and_refused_outside(spec_example, inside,
                                                                                             outside):
    spec_example["subtasks"][2]["choice_prob"] = inside
    assert validate_log(spec_example)["subtasks"][2]["choice_prob"] is inside
    spec_example["subtasks"][2]["choice_prob"] = outside
    with pytest.raises(LogError, match=r"^subtasks\[2\]\.choice_prob: must be in \(0, 1\]"):
        validate_log(spec_example)


@pytest.mark.parametrize("prob, message", [
    (0, r"must be in \(0, 1\], got 0$"),
    (0.0, r"must be in \(0, 1\], got 0.0$"),
    (-0.2, r"must be in \(0, 1\], got -0.2$"),
    (1.0000001, r"must be in \(0, 1\], got 1.0000001$"),
    (2, r"must be in \(0, 1\], got 2$"),
    (10 ** 400, r"must be in \(0, 1\], got 401 digits$"),
    (True, r"expected a number, got boolean"),
    ("0.5", r"expected a number, got string"),
    (None, r"expected a number, got null"),
    ([0.5], r"expected a number, got array"),
    (float("nan"), r"must be finite"),
    (float("inf"), r"must be finite"),
])
def test_choice_prob_outside_0_1_or_not_a_number_is_rejected(spec_example, prob, message):
    spec_example["subtasks"][2]["choice_prob"] = prob
    with pytest.raises(LogError, match=r"^subtasks\[2\]\.choice_prob: " + message):
        validate_log(spec_example)


@pytest.mark.parametrize("worker", ["absent", None])
def test_choice_prob_needs_the_worker_it_is_the_probability_of(spec_example, worker):
    task = spec_example["subtasks"][1]
    task.pop("worker") if worker == "absent" else task.update(worker=worker)
    task["choice_prob"] = 0.5
    with pytest.raises(LogError, match=r"^subtasks\[1\]\.choice_prob: given without a worker"):
        validate_log(spec_example)
    del task["choice_prob"]
    assert validate_log(spec_example) is spec_example  # a worker-less step without choice_prob is fine


@pytest.mark.parametrize("value, kind", [([1, 2], "array"), ("log", "string"), (None, "null"), (3, "integer")])
def test_a_log_must_be_an_object(value, kind):
    with pytest.raises(LogError, match=f"^log: expected a JSON object, got {kind}"):
        validate_log(value)


@pytest.mark.parametrize("field", ["total_cost_usd", "total_latency_ms"])
def test_a_huge_integer_total_is_a_log_error_not_a_crash(spec_example, field):
    # json (used for .json arrays) decodes a 400-digit integer as a Python int; math.isfinite overflows on it.
    spec_example[field] = 10 ** 400
    with pytest.raises(LogError, match=f"^{field}:"):
        validate_log(spec_example)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1} x', '{"a": 1}{}',
                                  '{"a": 1,}', "{'a': 1}", '{"a": 1e400}'])
def test_json_parsing_is_strict(text):
    with pytest.raises(json.JSONDecodeError):
        parse_json(text)


def test_json_parsing_accepts_bytes_and_unicode():
    assert parse_json('{"t": "résumé 日本語"}'.encode()) == {"t": "résumé 日本語"}


def test_canonical_form_is_stable_whatever_the_key_order_and_round_trips(spec_example):
    reordered = dict(reversed(list(spec_example.items())))
    reordered["subtasks"] = [dict(reversed(list(s.items()))) for s in reordered["subtasks"]]
    text = canonical_json(spec_example)
    assert canonical_json(reordered) == text
    assert parse_json(text) == spec_example
    assert text.startswith('{"id":"log-000042","instruction":') and ", " not in text.replace(". ", "")


def test_canonical_form_keeps_unicode_unescaped():
    assert canonical_json({"t": "résumé 日本語"}) == '{"t":"résumé 日本語"}'


def test_totals_are_derived_when_absent_and_kept_when_given(spec_example):
    cost, latency = log_totals(spec_example)
    assert cost == pytest.approx(0.0016)
    assert latency == pytest.approx(640 + 1810 + 455)  # the critical path, not the sum
    spec_example.update(total_cost_usd=1.0, total_latency_ms=2.0)
    assert log_totals(spec_example) == (1.0, 2.0)


def test_totals_are_unknown_when_no_subtask_measures_them(spec_example):
    for s in spec_example["subtasks"]:
        s.pop("cost_usd"), s.pop("latency_ms")
    assert log_totals(spec_example) == (None, None)


def test_partial_measurements_count_missing_steps_as_zero(spec_example):
    del spec_example["subtasks"][1]["cost_usd"], spec_example["subtasks"][1]["latency_ms"]
    cost, latency = log_totals(spec_example)
    assert cost == pytest.approx(0.0007)
    assert latency == pytest.approx(640 + 455)
    assert not math.isnan(cost)
