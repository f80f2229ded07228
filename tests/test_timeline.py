"""The execution timeline: steps start when their dependencies end; the critical path stands out."""

from workbench.components.timeline import CRITICAL, timeline_figure


def _bars(fig):
    return {trace.name: dict(zip(trace.y, zip(trace.base, trace.x))) for trace in fig.data}


def test_each_step_starts_when_its_dependencies_end(spec_example):
    bars = _bars(timeline_figure(spec_example["subtasks"]))
    steps = {**bars["critical path"], **bars["other steps"]}
    assert steps["s1 · extract_text"] == (0.0, 640.0)
    assert steps["s2 · summarize"] == (640.0, 1810.0)
    assert steps["s3 · translate"] == (2450.0, 420.0)
    assert steps["s4 · translate"] == (2450.0, 455.0)


def test_critical_path_is_its_own_highlighted_trace(spec_example):
    fig = timeline_figure(spec_example["subtasks"])
    critical = next(t for t in fig.data if t.name == "critical path")
    assert list(critical.y) == ["s1 · extract_text", "s2 · summarize", "s4 · translate"]
    assert critical.marker.color == CRITICAL
    assert list(fig.layout.yaxis.categoryarray) == ["s1 · extract_text", "s2 · summarize", "s3 · translate",
                                                    "s4 · translate"]


def test_log_text_in_labels_is_escaped():
    subtasks = [{"id": "a", "type": "<b>x</b>", "worker": "<img src=x>", "latency_ms": 10}]
    fig = timeline_figure(subtasks)
    assert fig.data[0].y[0] == "a · &lt;b&gt;x&lt;/b&gt;"
    assert fig.data[0].customdata[0][0] == "&lt;img src=x&gt;"


def test_no_timeline_without_any_latency():
    assert timeline_figure([{"id": "a", "type": "summarize"}]) is None
