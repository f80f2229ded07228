"""The training charts: losses on a log axis (a spike of thousands beside a loss of 0.4 stays readable),
plan metrics on a linear one."""

from workbench.components.loss_chart import compare_figure, components_figure, loss_figure


def _metrics():
    rows = []
    for step, value in ((1, 8000.0), (2, 40.0), (3, 0.9), (4, 0.45)):
        for name in ("loss", "types", "workers", "edges", "dag", "counts", "outcome_success", "outcome_cost",
                     "outcome_latency"):
            rows.append({"step": step, "epoch": 0, "split": "train", "name": name, "value": value, "wall_time": step})
    rows.append({"step": 4, "epoch": 1, "split": "val", "name": "loss", "value": 0.5, "wall_time": 4.0})
    rows.append({"step": 4, "epoch": 1, "split": "val", "name": "node_f1", "value": 0.8, "wall_time": 4.0})
    return rows


def test_loss_charts_use_a_log_axis_by_default_and_a_linear_one_on_request():
    metrics = _metrics()
    assert loss_figure(metrics).layout.yaxis.type == "log"
    assert loss_figure(metrics, log_y=False).layout.yaxis.type == "linear"
    components = components_figure(metrics)
    axes = [components.layout[k] for k in components.layout if k.startswith("yaxis")]
    assert len(axes) == 8 and all(axis.type == "log" for axis in axes)
    axes = [axis for k, axis in components_figure(metrics, log_y=False).layout.to_plotly_json().items()
            if k.startswith("yaxis")]
    assert all(axis["type"] == "linear" for axis in axes)


def test_run_comparison_puts_losses_on_a_log_axis_and_plan_metrics_on_a_linear_one():
    runs = {"run 1": _metrics(), "run 2": _metrics()}
    assert compare_figure(runs, "loss", "train").layout.yaxis.type == "log"
    assert compare_figure(runs, "node_f1", "val").layout.yaxis.type == "linear"


def test_the_outcome_models_losses_are_charted_beside_the_planners():
    titles = [a.text for a in components_figure(_metrics()).layout.annotations]
    assert titles[-3:] == ["outcome_success", "outcome_cost", "outcome_latency"]
    axes = {trace.yaxis for trace in components_figure(_metrics()).data}
    assert {"y6", "y7", "y8"} <= axes  # the second row's panels hold curves
