"""One offline HTML page around a Graphviz SVG: ``page(svg, title, clusters)`` -> str.

The page pans (drag) and zooms (wheel, buttons) by rewriting the SVG's viewBox, folds a cluster
(a layer, a time step) on a click, and shows a node's tooltip in a floating box on hover.
Everything is inline, so the file opens from a mail attachment or an air-gapped machine;
``window.tsGraph`` drives the same actions from a console or a test.

Graphviz writes clusters as siblings, not nested ``<g>`` elements, so which nodes a cluster
holds comes from ``clusters`` (``_Drawing.cluster_info()``), embedded as JSON, not from the SVG.
"""

from __future__ import annotations

import html
import json
import re

HELP = "drag to pan, wheel to zoom, click a cluster to fold it, hover a node for details"

_CSS = """
html, body { margin: 0; height: 100%; font: 13px Helvetica, Arial, sans-serif; }
body { display: flex; flex-direction: column; }
header { padding: 6px 10px; border-bottom: 1px solid #ddd; display: flex; gap: 14px;
         align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 15px; margin: 0; }
#ts-help { color: #666; }
#ts-view { flex: 1; min-height: 0; overflow: hidden; cursor: grab; }
#ts-view.dragging { cursor: grabbing; }
#ts-view svg { width: 100%; height: 100%; display: block; user-select: none; }
.ts-hidden { display: none; }
g.cluster { cursor: pointer; }
g.cluster.folded > g > a > path, g.cluster.folded > path { fill: #eef3fb; stroke-dasharray: 4 3; }
.fold-label { font-style: italic; fill: #1f4e99; }
#ts-tip { position: fixed; display: none; white-space: pre; pointer-events: none; z-index: 10;
          background: #fffff0; border: 1px solid #999; padding: 4px 6px; max-width: 70vw;
          font: 12px Menlo, Consolas, monospace; box-shadow: 0 2px 6px rgba(0, 0, 0, .2); }
"""

# plain ES5 in one closure: runs from file:// in any browser, with no library to fetch
_JS = r"""
(function () {
  "use strict";
  var XLINK = "http://www.w3.org/1999/xlink", SVGNS = "http://www.w3.org/2000/svg";
  var view = document.getElementById("ts-view"), svg = view.querySelector("svg");
  var tip = document.getElementById("ts-tip"), foldBtn = document.getElementById("ts-fold-all");
  var info = JSON.parse(document.getElementById("ts-clusters").textContent);
  var nodeEl = {}, clusterEl = {}, edges = [], folded = {}, children = {}, members = {};

  // move each <title> into data-name: a <title> child is a native tooltip the tip would double
  Array.prototype.forEach.call(svg.querySelectorAll("g.node, g.cluster, g.edge"), function (g) {
    var t = g.querySelector(":scope > title");
    if (!t) return;
    var name = t.textContent;
    g.setAttribute("data-name", name);
    t.parentNode.removeChild(t);
    if (g.classList.contains("node")) nodeEl[name] = g;
    else if (g.classList.contains("cluster")) clusterEl[name] = g;
    else {
      var ends = name.split("->");  // "tail:port->head:port"
      edges.push({g: g, tail: ends[0].split(":")[0], head: (ends[1] || "").split(":")[0]});
    }
  });
  Array.prototype.forEach.call(svg.querySelectorAll("a"), function (a) {
    var text = a.hasAttributeNS(XLINK, "title") ? a.getAttributeNS(XLINK, "title")
      : a.getAttribute("xlink:title");
    if (text === null) return;
    a.setAttribute("data-tip", text);
    a.removeAttributeNS(XLINK, "title");
    a.removeAttribute("xlink:title");
  });

  Object.keys(info).forEach(function (name) {
    var p = info[name].parent;
    if (p) (children[p] = children[p] || []).push(name);
  });
  function descendants(name) {  // a loop, not recursion: clusters can nest deeply
    var out = [], stack = [name];
    while (stack.length) {
      var c = stack.pop();
      out.push(c);
      (children[c] || []).forEach(function (k) { stack.push(k); });
    }
    return out;
  }
  Object.keys(info).forEach(function (name) {
    members[name] = [];
    descendants(name).forEach(function (c) {
      members[name].push.apply(members[name], info[c].nodes || []);
    });
  });
  function steps() {
    return Object.keys(info).filter(function (n) { return info[n].label.indexOf("t = ") === 0; });
  }

  function setLabel(name, on) {
    var g = clusterEl[name];
    if (!g) return;
    var old = g.querySelector("text.fold-label");
    var texts = g.querySelectorAll("text:not(.fold-label)"), label = texts[0];
    Array.prototype.forEach.call(texts, function (t) { t.classList.toggle("ts-hidden", on); });
    if (!on) { if (old) old.parentNode.removeChild(old); return; }
    var t = old || document.createElementNS(SVGNS, "text");
    t.setAttribute("class", "fold-label");
    var b = label ? null : g.getBBox();  // a cluster without a label: near its top edge
    ["x", "y", "text-anchor", "font-family", "font-size"].forEach(function (a, i) {
      var v = label ? label.getAttribute(a) : [b.x + b.width / 2, b.y + 14, "middle"][i];
      if (v !== null && v !== undefined) t.setAttribute(a, v);
    });
    t.textContent = info[name].label + " (folded: " + members[name].length + " nodes)";
    if (!old) (label ? label.parentNode : g).appendChild(t);
  }

  function refresh() {  // one pass over everything: cheap next to a layout, and never stale
    var hideNode = {}, hideCluster = {};
    Object.keys(folded).forEach(function (name) {
      members[name].forEach(function (id) { hideNode[id] = true; });
      descendants(name).slice(1).forEach(function (c) { hideCluster[c] = true; });
    });
    Object.keys(clusterEl).forEach(function (name) {
      clusterEl[name].classList.toggle("ts-hidden", !!hideCluster[name]);
      clusterEl[name].classList.toggle("folded", !!folded[name]);
    });
    Object.keys(nodeEl).forEach(function (id) {
      nodeEl[id].classList.toggle("ts-hidden", !!hideNode[id]);
    });
    edges.forEach(function (e) {
      e.g.classList.toggle("ts-hidden", !!(hideNode[e.tail] || hideNode[e.head]));
    });
    var all = steps();
    foldBtn.hidden = !all.length;
    foldBtn.textContent = all.length && all.every(function (n) { return folded[n]; })
      ? "unfold all" : "fold all steps";
  }

  function check(name) {
    if (!info.hasOwnProperty(name)) throw new Error("tsGraph: no cluster named " + name);
  }
  function set(names, on) {  // one refresh however many clusters change
    names.forEach(function (n) { on ? (folded[n] = true) : delete folded[n]; setLabel(n, on); });
    refresh();
  }
  function fold(name) { check(name); set([name], true); }
  function unfold(name) { check(name); set([name], false); }
  function foldAll() { set(steps(), true); }
  function unfoldAll() { set(Object.keys(folded), false); }

  // ---- pan and zoom: rewrite the viewBox, so text stays vector-sharp at any zoom
  var base = svg.viewBox.baseVal, box;
  if (!base || !base.width) base = svg.getBBox();
  var home = {x: base.x, y: base.y, w: base.width, h: base.height};
  svg.removeAttribute("width"); svg.removeAttribute("height");
  function setBox(b) { box = b; svg.setAttribute("viewBox", [b.x, b.y, b.w, b.h].join(" ")); }
  function toUser(e) {
    var p = svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoomAt(f, p) {  // f > 1 magnifies; the point p stays where it is on screen
    setBox({x: p.x - (p.x - box.x) / f, y: p.y - (p.y - box.y) / f, w: box.w / f, h: box.h / f});
  }
  function zoom(f) { zoomAt(f, {x: box.x + box.w / 2, y: box.y + box.h / 2}); }
  function fit() { setBox({x: home.x, y: home.y, w: home.w, h: home.h}); }
  fit();

  var drag = null, dragged = false;
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    zoomAt(Math.pow(1.0015, -e.deltaY * (e.deltaMode === 1 ? 33 : 1)), toUser(e));  // lines
  }, {passive: false});
  svg.addEventListener("mousedown", function (e) {
    if (e.button !== 0) return;
    drag = {p: toUser(e), x: e.clientX, y: e.clientY};
    dragged = false;
    e.preventDefault();
  });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) dragged = true;
    if (!dragged) return;
    view.classList.add("dragging");
    var p = toUser(e);
    setBox({x: box.x + drag.p.x - p.x, y: box.y + drag.p.y - p.y, w: box.w, h: box.h});
  });
  window.addEventListener("mouseup", function () {
    drag = null;
    view.classList.remove("dragging");
  });
  svg.addEventListener("click", function (e) {
    if (dragged) { dragged = false; return; }  // the end of a pan, not a click on a cluster
    var g = e.target.closest("g.cluster"), name = g && g.getAttribute("data-name");
    if (!name || !info.hasOwnProperty(name)) return;  // the legend is a cluster too
    if (folded[name]) unfold(name); else fold(name);
  });

  // ---- hover
  function place(e) {
    var x = e.clientX + 14, y = e.clientY + 14, w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth) x = Math.max(0, e.clientX - 14 - w);  // keep it on screen
    if (y + h > window.innerHeight) y = Math.max(0, e.clientY - 14 - h);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  }
  svg.addEventListener("mouseover", function (e) {
    var g = e.target.closest("g.node"), a = g && g.querySelector("[data-tip]");
    if (!a || drag) return;
    tip.textContent = a.getAttribute("data-tip");
    tip.style.display = "block";
    place(e);
  });
  svg.addEventListener("mousemove", function (e) { if (tip.style.display === "block") place(e); });
  svg.addEventListener("mouseout", function (e) {
    var g = e.target.closest("g.node");
    if (g && !(e.relatedTarget && g.contains(e.relatedTarget))) tip.style.display = "none";
  });

  document.getElementById("ts-zoom-in").onclick = function () { zoom(1.25); };
  document.getElementById("ts-zoom-out").onclick = function () { zoom(0.8); };
  document.getElementById("ts-fit").onclick = fit;
  foldBtn.onclick = function () {
    if (foldBtn.textContent === "unfold all") unfoldAll(); else foldAll();
  };
  refresh();

  window.tsGraph = {
    fold: fold, unfold: unfold, foldAll: foldAll, unfoldAll: unfoldAll, zoom: zoom, fit: fit,
    isFolded: function (name) { return !!folded[name]; },
    visibleNodes: function () { return svg.querySelectorAll("g.node:not(.ts-hidden)").length; },
    clusters: info
  };
})();
"""


def page(svg: str, title: str, clusters: dict, appendix: str = "") -> str:
    """A self-contained HTML document showing ``svg`` (the text of ``dot -Tsvg``), titled
    ``title``, whose clusters fold on a click; ``clusters`` is ``{name: {"label", "parent",
    "nodes"}}`` with the Graphviz names of the nodes drawn directly inside each cluster.
    ``appendix``: HTML of the caller's own (a report's sections), placed below the graph."""
    start = re.search(r"<svg\b", svg)
    if start is None:
        raise ValueError("page: svg has no <svg> element; give the text `dot -Tsvg` wrote")
    # the XML declaration and DOCTYPE are not allowed inside HTML; the DOCTYPE also names a URL
    body = svg[start.start():]
    # "</" would end the <script> block early, "<!--" would change how it is parsed
    data = json.dumps(clusters).replace("</", "<\\/").replace("<!--", "\\u003c!--")
    name = html.escape(title)
    return "".join([
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<title>{name}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<header><h1>{name}</h1><span id=\"ts-help\">{HELP}</span>\n",
        "<span id=\"ts-tools\"><button id=\"ts-zoom-in\" title=\"zoom in\">+</button> ",
        "<button id=\"ts-zoom-out\" title=\"zoom out\">-</button> ",
        "<button id=\"ts-fit\">fit</button> <button id=\"ts-fold-all\">fold all steps</button>",
        "</span></header>\n",
        f"<div id=\"ts-view\">\n{body}\n</div>\n<div id=\"ts-tip\"></div>\n",
        f"<main id=\"ts-appendix\">{appendix}</main>\n" if appendix else "",
        f"<script type=\"application/json\" id=\"ts-clusters\">{data}</script>\n",
        f"<script>{_JS}</script>\n</body>\n</html>\n",
    ])
