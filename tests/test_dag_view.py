"""The offline DAG page: built with pyvis, vis-network inlined, every piece of log text escaped."""

import json
import re
from html.parser import HTMLParser

from workbench.components.dag_view import (
    CRITICAL,
    PALETTE,
    build_network,
    dag_embed,
    dag_html,
    embedded_page,
    vis_assets,
    worker_colours,
)

XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html):
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _data(html):
    match = re.search(r"const DATA = (.*?);\n", html)
    return json.loads(match.group(1))


def _hostile_subtasks():
    return [
        {"id": "s1", "type": XSS, "description": BREAKOUT, "worker": XSS, "depends_on": [], "status": "success",
         "cost_usd": 0.001, "latency_ms": 100},
        {"id": "s2", "type": "summarize", "description": "fine", "worker": "gpt-4o", "depends_on": ["s1"],
         "status": "failed", "latency_ms": 50},
        {"id": "s3", "type": "translate", "worker": None, "depends_on": ["s1"], "status": "skipped"},
    ]


def test_dag_html_loads_nothing_from_the_network(spec_example):
    html = dag_html(spec_example["subtasks"])
    for tag, attrs in _tags(html):
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    assert "@import" not in html
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*[\"']?([^\"')]*)", html))
    # The only http(s) strings are inert ones inside vis-network itself (licence comments, the SVG namespace).
    js, css = vis_assets()
    vendored = set(re.findall(r"https?://[^\s\"')]+", js + css))
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= vendored
    assert js in html and css in html
    assert "cdn" not in html.replace(js, "").replace(css, "").lower()


def test_log_text_is_escaped_and_cannot_close_the_script():
    html = dag_html(_hostile_subtasks())
    assert XSS not in html
    assert "<img" not in html.replace(vis_assets()[0], "")
    js = vis_assets()[0]
    assert "</script" not in js
    ours = html.replace(js, "")
    assert ours.count("<script>") == ours.count("</script>") == 2  # vis-network's and ours, none from the log
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the worker name in the legend
    nodes = {n["id"]: n for n in _data(html)["nodes"]}
    assert nodes["s1"]["label"] == XSS  # drawn on the canvas as text
    assert BREAKOUT in nodes["s1"]["tooltip"]  # shown with textContent
    assert "el.textContent = text" in html and "innerHTML" not in html.replace(vis_assets()[0], "")


def test_nodes_labelled_by_type_coloured_by_worker_and_marked_by_status():
    net = build_network(_hostile_subtasks(), highlight=["s1", "s2"])
    nodes = {n["id"]: n for n in net.nodes}
    assert [nodes[i]["label"] for i in ("s1", "s2", "s3")] == [XSS, "✗ summarize", "⊘ translate"]
    assert nodes["s2"]["borderWidth"] == 3 and nodes["s2"]["color"]["border"] == "#d62728"  # failed wins
    assert nodes["s1"]["borderWidth"] == 3 and nodes["s1"]["color"]["border"] == CRITICAL  # on the path
    assert nodes["s3"]["borderWidth"] == 1
    assert nodes["s3"]["shapeProperties"] == {"borderDashes": [6, 4]}
    assert nodes["s3"]["color"] == "#d0d0d0"  # no worker
    tooltip = nodes["s2"]["tooltip"]
    for part in ("s2 · summarize", "fine", "worker: gpt-4o", "status: failed", "latency: 50 ms"):
        assert part in tooltip
    edges = {(e["from"], e["to"]): e for e in net.edges}
    assert set(edges) == {("s1", "s2"), ("s1", "s3")}
    assert edges[("s1", "s2")]["width"] == 3 and edges[("s1", "s2")]["color"] == CRITICAL
    assert "width" not in edges[("s1", "s3")]


def test_layout_is_hierarchical_left_to_right(spec_example):
    options = _data(dag_html(spec_example["subtasks"]))["options"]
    assert options["layout"]["hierarchical"]["enabled"] is True
    assert options["layout"]["hierarchical"]["direction"] == "LR"


def test_worker_colours_are_distinct_within_a_log_and_stable_across_logs():
    workers = [f"worker-{i}" for i in range(len(PALETTE))]
    colours = worker_colours(workers)
    assert len({colours[w] for w in workers}) == len(PALETTE)
    assert worker_colours(list(reversed(workers))) == colours
    assert worker_colours(["gpt-4o", None])[None] == "#d0d0d0"


def test_plan_subtasks_show_worker_probabilities():
    plan = [{"id": "a", "type": "summarize", "worker": "gpt-4o", "depends_on": [],
             "worker_probs": {"gpt-4o": 0.7, "gpt-4o-mini": 0.3}}]
    tooltip = build_network(plan).nodes[0]["tooltip"]
    assert "worker options: gpt-4o 70%, gpt-4o-mini 30%" in tooltip


def test_legend_explains_outcome_marks_only_when_the_workflow_has_them(spec_example):
    with_outcomes = dag_html(_hostile_subtasks())
    assert "✗ failed</span>" in with_outcomes and "⊘ skipped</span>" in with_outcomes
    plan = [{k: v for k, v in t.items() if k != "status"} for t in spec_example["subtasks"]]
    legend = dag_html(plan).split('id="legend">')[1].split("</div>")[0]
    assert "gpt-4o-mini" in legend and "failed" not in legend and "skipped" not in legend


def test_the_page_is_framed_with_scripts_allowed_but_never_the_apps_origin(spec_example):
    page = dag_html(_hostile_subtasks())
    embed = dag_embed(page, 300)
    frames = re.findall(r'setAttribute\("sandbox", "([^"]*)"\)', embed)
    assert frames == ["allow-scripts"] and "allow-same-origin" not in embed
    assert embedded_page(embed) == page  # the frame shows the page exactly
    assert embed.count("<") == 2 and embed.startswith("<script>") and embed.endswith("</script>")  # ours only
    assert XSS not in embed and "height: 340px" in embed
    assert embedded_page("<p>not a graph</p>") is None


def test_the_page_is_put_in_the_frame_untouched_whatever_its_text():
    tricky = [{"id": "s1", "type": "FRAME_TITLE HEIGHT SIZE_MESSAGE PAGE_JSON", "depends_on": []}]
    page = dag_html(tricky)
    assert embedded_page(dag_embed(page, 300)) == page
