"""A workflow DAG drawn with pyvis/vis-network as one self-contained HTML page that works offline.

Nodes are built with pyvis; the page inlines vis-network's JS and CSS from the pyvis package (its own
templates link CDNs). Text from a log reaches the browser only as escaped JSON or escaped HTML and is
shown with `textContent`, so a log can never inject markup or script. The page runs in an iframe
sandboxed with `allow-scripts` only (st.iframe's also allows same-origin, which lets a frame escape its
sandbox): its origin is opaque, so nothing in it can reach the app.
"""

from __future__ import annotations

import html
import json
import re
import zlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pyvis
import streamlit as st
from pyvis.network import Network

VIS_DIR = Path(pyvis.__file__).resolve().parent / "templates" / "lib" / "vis-9.1.2"
PALETTE = ("#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99", "#8dd3c7", "#bebada",
           "#80b1d3", "#fdb462", "#b3de69", "#fccde5")
NO_WORKER = "#d0d0d0"
FAILED_BORDER = "#d62728"
CRITICAL = "#ff7f0e"  # the critical path, as on the timeline
STATUS_MARK = {"failed": "✗ ", "skipped": "⊘ "}
OPTIONS = {
    "layout": {"hierarchical": {"enabled": True, "direction": "LR", "sortMethod": "directed",
                                "levelSeparation": 170, "nodeSpacing": 80}},
    "physics": {"enabled": False},
    "interaction": {"hover": True, "tooltipDelay": 120},
    "nodes": {"shape": "box", "margin": 8, "font": {"size": 14}, "widthConstraint": {"maximum": 150}},
    "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.6}}, "color": {"color": "#888888"},
              "smooth": {"type": "cubicBezier", "forceDirection": "horizontal"}},
}


@lru_cache(maxsize=1)
def vis_assets() -> tuple[str, str]:
    """vis-network's (JS, CSS) as shipped in the pyvis package."""
    return ((VIS_DIR / "vis-network.min.js").read_text(encoding="utf-8"),
            (VIS_DIR / "vis-network.css").read_text(encoding="utf-8"))


def worker_colours(workers: Sequence[str | None]) -> dict[str | None, str]:
    """A colour per worker: stable across logs (by name hash), distinct within one log."""
    colours: dict[str | None, str] = {None: NO_WORKER}
    taken: set[str] = set()
    for worker in sorted({w for w in workers if w is not None}):
        slot = zlib.crc32(worker.encode("utf-8")) % len(PALETTE)
        for step in range(len(PALETTE)):
            colour = PALETTE[(slot + step) % len(PALETTE)]
            if colour not in taken or len(taken) >= len(PALETTE):
                break
        colours[worker] = colour
        taken.add(colour)
    return colours


def _tooltip(task: dict) -> str:
    lines = [f"{task.get('id')} · {task.get('type')}"]
    if task.get("description"):
        lines.append(str(task["description"]))
    lines.append(f"worker: {task.get('worker') or '(none)'}")
    if task.get("worker_probs"):
        probs = sorted(task["worker_probs"].items(), key=lambda kv: -kv[1])
        lines.append("worker options: " + ", ".join(f"{w} {p:.0%}" for w, p in probs))
    if task.get("status"):
        lines.append(f"status: {task['status']}")
    if task.get("cost_usd") is not None:
        lines.append(f"cost: ${task['cost_usd']:.5f}")
    if task.get("latency_ms") is not None:
        lines.append(f"latency: {task['latency_ms']:,.0f} ms")
    return "\n".join(lines)


def build_network(subtasks: Sequence[dict], highlight: Sequence[str] = ()) -> Network:
    """The pyvis network of a workflow; `highlight` names subtasks of a path to draw bold."""
    colours = worker_colours([t.get("worker") for t in subtasks])
    on_path = set(highlight)
    net = Network(directed=True, cdn_resources="local")
    for task in subtasks:
        status = task.get("status")
        options = {"tooltip": _tooltip(task), "borderWidth": 1}
        if status == "failed":
            options.update(borderWidth=3, color={"background": colours[task.get("worker")], "border": FAILED_BORDER})
        elif task["id"] in on_path:  # the node too, so a one-step path shows
            options.update(borderWidth=3, color={"background": colours[task.get("worker")], "border": CRITICAL})
        if status == "skipped":
            options.update(shapeProperties={"borderDashes": [6, 4]}, opacity=0.55)
        net.add_node(task["id"], label=STATUS_MARK.get(status, "") + str(task.get("type")), shape="box",
                     color=options.pop("color", colours[task.get("worker")]), **options)
    for task in subtasks:
        for dep in task.get("depends_on") or []:
            bold = dep in on_path and task["id"] in on_path
            net.add_edge(dep, task["id"], **({"width": 3, "color": CRITICAL} if bold else {}))
    net.options = OPTIONS
    return net


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element (no `<`, `>`, `&` or line separators)."""
    text = json.dumps(value, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _legend(subtasks: Sequence[dict], highlight: Sequence[str]) -> str:
    colours = worker_colours([t.get("worker") for t in subtasks])
    used = sorted({t.get("worker") for t in subtasks}, key=lambda w: (w is None, w or ""))
    items = [f'<span class="item"><span class="swatch" style="background:{colours[w]}"></span>'
             f'{html.escape(w) if w is not None else "(no worker)"}</span>' for w in used]
    statuses = {t.get("status") for t in subtasks}  # plans have none: no outcome marks to explain
    if "failed" in statuses:
        items.append('<span class="item"><span class="swatch failed"></span>✗ failed</span>')
    if "skipped" in statuses:
        items.append('<span class="item"><span class="swatch skipped"></span>⊘ skipped</span>')
    if highlight:
        items.append('<span class="item"><span class="path"></span>critical path</span>')
    return "".join(items)


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<style>{css}</style>
<style>
body {{ margin: 0; font-family: "Source Sans Pro", sans-serif; font-size: 13px; color: #31333f; }}
#dag {{ width: 100%; height: {height}px; border: 1px solid #e6e6e6; border-radius: 6px; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 4px 2px 8px; }}
.item {{ display: inline-flex; align-items: center; gap: 5px; }}
.swatch {{ width: 12px; height: 12px; border-radius: 3px; border: 1px solid #999; display: inline-block; }}
.swatch.failed {{ border: 2px solid {failed}; background: #fff; }}
.swatch.skipped {{ border: 1px dashed #666; background: #fff; }}
.path {{ width: 18px; height: 3px; background: {critical}; display: inline-block; }}
.tip {{ white-space: pre-wrap; max-width: 380px; font-size: 12px; }}
div.vis-tooltip {{ font-family: "Source Sans Pro", sans-serif; }}
</style>
<script>{js}</script>
</head><body>
<div class="legend" id="legend">{legend}</div>
<div id="dag"></div>
<script>
const DATA = {data};
function tip(text) {{
  const el = document.createElement("div"); el.className = "tip"; el.textContent = text; return el; }}
const nodes = new vis.DataSet(DATA.nodes.map(function (n) {{
  const node = Object.assign({{}}, n); node.title = tip(n.tooltip); delete node.tooltip; return node; }}));
const edges = new vis.DataSet(DATA.edges);
const network = new vis.Network(document.getElementById("dag"), {{ nodes: nodes, edges: edges }}, DATA.options);
network.once("afterDrawing", function () {{ network.fit(); }});  // the script may run before the frame has its size
window.dagNodes = nodes; window.dagEdges = edges; window.dagNetwork = network;
function sendHeight() {{
  parent.postMessage({{ type: "{size_message}", height: document.body.getBoundingClientRect().height }}, "*"); }}
new ResizeObserver(sendHeight).observe(document.body);
</script>
</body></html>
"""

# st.html runs this in the app (our code only; the page is a JSON string in it): it replaces itself with
# the sandboxed frame and sets the frame's height from the size messages of that frame alone.
EMBED = """<script>
(function () {
  const page = PAGE_JSON;
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("title", "FRAME_TITLE");
  frame.style.cssText = "display: block; width: 100%; border: 0; height: HEIGHTpx";
  frame.srcdoc = page;
  function resize(event) {
    if (!frame.isConnected) { window.removeEventListener("message", resize); return; }
    const data = event.data;
    if (event.source === frame.contentWindow && data && data.type === "SIZE_MESSAGE"
        && Number.isFinite(data.height) && data.height > 0) {
      frame.style.height = Math.ceil(data.height) + "px";
    }
  }
  document.currentScript.replaceWith(frame);
  window.addEventListener("message", resize);
})();
</script>"""
FRAME_TITLE = "Workflow graph"
SIZE_MESSAGE = "orchestai:dag-height"
LEGEND_ROOM = 40  # px the frame starts with above the graph, until the page reports its height
_EMBEDDED_PAGE = re.compile(r'const page = ("(?:[^"\\]|\\.)*");')


def dag_html(subtasks: Sequence[dict], height: int = 380, highlight: Sequence[str] = ()) -> str:
    """The whole DAG page: legend, graph and inlined vis-network; no external resource."""
    net = build_network(subtasks, highlight)
    nodes, edges, _, _, _, _ = net.get_network_data()
    js, css = vis_assets()
    data = {"nodes": nodes, "edges": edges, "options": OPTIONS}
    return PAGE.format(css=css, js=js, height=int(height), failed=FAILED_BORDER, critical=CRITICAL,
                       legend=_legend(subtasks, highlight), size_message=SIZE_MESSAGE,
                       data=_script_json(data))


def dag_embed(page: str, height: int) -> str:
    """The HTML that shows `page` in an iframe sandboxed with `allow-scripts` only, `height` px tall
    (plus room for the legend) until the page reports its own height."""
    return (EMBED.replace("FRAME_TITLE", FRAME_TITLE).replace("SIZE_MESSAGE", SIZE_MESSAGE)
            .replace("HEIGHT", str(int(height) + LEGEND_ROOM))
            .replace("PAGE_JSON", _script_json(page)))  # last: the page's text is never searched


def embedded_page(embed: str) -> str | None:
    """The page a `dag_embed` shows (None if `embed` is not one): what the browser puts in the frame."""
    match = _EMBEDDED_PAGE.search(embed)
    return json.loads(match.group(1)) if match else None


def show_dag(subtasks: Sequence[dict], height: int = 380, highlight: Sequence[str] = ()) -> None:
    """Render the DAG in the page: a sandboxed iframe sized to its content."""
    st.html(dag_embed(dag_html(subtasks, height, highlight), height), unsafe_allow_javascript=True)
