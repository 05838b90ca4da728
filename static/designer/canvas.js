// The canvas: SVG drawing of the document plus pointer interactions (select, move, wire, pan,
// zoom, rubber-band) and the minimap. User text only ever reaches the DOM through textContent or
// setAttribute, never through innerHTML.

const NS = "http://www.w3.org/2000/svg";
export const NODE_W = 168;
export const NODE_H = 52;
export const GRID = 20;
const MIN_ZOOM = 0.1;
const MAX_ZOOM = 3;
const LABEL_CHARS = 20;

export function svgEl(name, attrs = {}, parent = null) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

function clip(text, max) { return text.length > max ? `${text.slice(0, max - 1)}…` : text; }

export class Canvas {
  constructor(svg, store, options) {
    this.svg = svg;
    this.store = store;
    this.options = options; // {editable, onSelect, notify, onFocusNode, snap()}
    this.viewport = svg.querySelector(".viewport");
    this.layers = {
      ghosts: svg.querySelector(".ghosts"),
      edges: svg.querySelector(".edges"),
      nodes: svg.querySelector(".nodes"),
      overlay: svg.querySelector(".overlay"),
    };
    this.view = { x: 40, y: 40, k: 1 };
    this.nodeEls = new Map();
    this.edgeEls = new Map();
    this.selectedNodes = new Set();
    this.selectedEdges = new Set();
    this.lint = { nodes: new Map(), edges: new Map() };
    this.gesture = null;
    this.spaceHeld = false;
    this.minimap = options.minimap ? new Minimap(options.minimap, this) : null;
    this.bind();
  }

  // --- coordinates ---------------------------------------------------------------------------

  toWorld(clientX, clientY) {
    const box = this.svg.getBoundingClientRect();
    return { x: (clientX - box.left - this.view.x) / this.view.k, y: (clientY - box.top - this.view.y) / this.view.k };
  }

  visibleWorld() {
    const box = this.svg.getBoundingClientRect();
    return { x: -this.view.x / this.view.k, y: -this.view.y / this.view.k, w: box.width / this.view.k, h: box.height / this.view.k };
  }

  centre() {
    const area = this.visibleWorld();
    return { x: area.x + area.w / 2, y: area.y + area.h / 2 };
  }

  applyView() {
    const { x, y, k } = this.view;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${k.toFixed(4)})`);
    this.svg.style.setProperty("--zoom", k);
    this.options.onView?.(this.view);
    this.minimap?.schedule();
  }

  zoomBy(factor, clientX, clientY) {
    const box = this.svg.getBoundingClientRect();
    const cx = clientX ?? box.left + box.width / 2;
    const cy = clientY ?? box.top + box.height / 2;
    const world = this.toWorld(cx, cy);
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.k * factor));
    this.view.k = k;
    this.view.x = cx - box.left - world.x * k;
    this.view.y = cy - box.top - world.y * k;
    this.applyView();
  }

  bounds(ids = null) {
    const nodes = ids ? ids.map((id) => this.store.node(id)).filter(Boolean) : this.store.doc.nodes;
    if (!nodes.length) return null;
    let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
    for (const node of nodes) {
      minX = Math.min(minX, node.x); minY = Math.min(minY, node.y);
      maxX = Math.max(maxX, node.x + NODE_W); maxY = Math.max(maxY, node.y + NODE_H);
    }
    return { x: minX, y: minY, w: maxX - minX, h: maxY - minY };
  }

  fit(ids = null, maxZoom = 1.25) {
    const area = this.bounds(ids);
    const box = this.svg.getBoundingClientRect();
    if (!area || !box.width) { this.view = { x: 40, y: 40, k: 1 }; this.applyView(); return; }
    const pad = 48;
    const k = Math.min(maxZoom, Math.max(MIN_ZOOM, Math.min((box.width - pad * 2) / area.w, (box.height - pad * 2) / area.h)));
    this.view = { k, x: box.width / 2 - (area.x + area.w / 2) * k, y: box.height / 2 - (area.y + area.h / 2) * k };
    this.applyView();
  }

  // Pans so the nodes are visible, zooming out only when they do not fit.
  reveal(ids) {
    const area = this.bounds(ids);
    if (!area) return;
    const seen = this.visibleWorld();
    const inside = area.x >= seen.x && area.y >= seen.y && area.x + area.w <= seen.x + seen.w && area.y + area.h <= seen.y + seen.h;
    if (inside) return;
    if (area.w > seen.w * 0.9 || area.h > seen.h * 0.9) { this.fit(ids, this.view.k); return; }
    const box = this.svg.getBoundingClientRect();
    this.view.x = box.width / 2 - (area.x + area.w / 2) * this.view.k;
    this.view.y = box.height / 2 - (area.y + area.h / 2) * this.view.k;
    this.applyView();
  }

  // --- drawing -------------------------------------------------------------------------------

  render() {
    const { nodes, edges } = this.store.doc;
    const seen = new Set();
    let previous = null;
    for (const node of nodes) {
      seen.add(node.id);
      let element = this.nodeEls.get(node.id);
      if (!element) { element = this.createNode(node); this.nodeEls.set(node.id, element); }
      this.updateNode(element, node);
      // Keep DOM order equal to document order so Tab follows it.
      const expected = previous ? previous.nextSibling : this.layers.nodes.firstChild;
      if (expected !== element) this.layers.nodes.insertBefore(element, expected);
      previous = element;
    }
    for (const [id, element] of this.nodeEls) {
      if (!seen.has(id)) { element.remove(); this.nodeEls.delete(id); this.selectedNodes.delete(id); }
    }
    const seenEdges = new Set();
    for (const edge of edges) {
      seenEdges.add(edge.id);
      let element = this.edgeEls.get(edge.id);
      if (!element) { element = this.createEdge(edge); this.edgeEls.set(edge.id, element); this.layers.edges.appendChild(element); }
      this.updateEdge(element, edge);
    }
    for (const [id, element] of this.edgeEls) {
      if (!seenEdges.has(id)) { element.remove(); this.edgeEls.delete(id); this.selectedEdges.delete(id); }
    }
    this.paintSelection();
    this.paintLint();
    this.minimap?.schedule(); // next frame: measuring now would force a layout of the new nodes
  }

  createNode() {
    const group = svgEl("g", { class: "node", tabindex: "0", role: "button" });
    svgEl("rect", { class: "node-body", width: NODE_W, height: NODE_H, rx: 8 }, group);
    svgEl("rect", { class: "node-stripe", width: 6, height: NODE_H, rx: 3 }, group);
    group.parts = {
      icon: svgEl("text", { class: "node-icon", x: 22, y: 33, "text-anchor": "middle" }, group),
      label: svgEl("text", { class: "node-label", x: 38, y: 23 }, group),
      kind: svgEl("text", { class: "node-kind", x: 38, y: 40 }, group),
      title: null, // the full-name tooltip, created on first hover (cheaper first render)
      input: svgEl("circle", { class: "port port-in", "data-port": "in", cx: 0, cy: NODE_H / 2, r: 7 }, group),
      output: svgEl("circle", { class: "port port-out", "data-port": "out", cx: NODE_W, cy: NODE_H / 2, r: 7 }, group),
      badge: null, // created on the first lint finding
    };
    group.addEventListener("focus", () => this.options.onFocusNode?.(group.dataset.nodeId));
    group.addEventListener("pointerenter", () => {
      if (!group.parts.title) { group.parts.title = svgEl("title", {}, group); group.dataset.key = ""; this.updateNode(group, this.store.node(group.dataset.nodeId)); }
    });
    return group;
  }

  updateNode(group, node) {
    const kind = this.store.kind(node.kind) || { label: node.kind, icon: "?", has_input: true, feeds: [] };
    const key = `${node.kind}|${node.label}|${node.id}`;
    if (group.dataset.key !== key) {
      const parts = group.parts;
      group.dataset.key = key;
      group.dataset.nodeId = node.id;
      group.dataset.kind = node.kind;
      group.setAttribute("class", `node kind-${node.kind} group-${(kind.group || "").toLowerCase()}`);
      group.setAttribute("aria-label", `${kind.label}: ${node.label}`);
      parts.icon.textContent = kind.icon;
      parts.label.textContent = clip(node.label || node.id, LABEL_CHARS);
      parts.kind.textContent = clip(`${kind.label} · ${node.id}`, LABEL_CHARS + 6);
      if (parts.title) parts.title.textContent = `${node.label} (${kind.label}, id ${node.id})`;
      parts.input.style.display = kind.has_input ? "" : "none";
      parts.output.style.display = kind.feeds.length ? "" : "none";
      parts.input.setAttribute("aria-label", `Input of ${node.label}`);
      parts.output.setAttribute("aria-label", `Output of ${node.label}`);
      group.lintKey = null;
    }
    const transform = `translate(${node.x} ${node.y})`;
    if (group.getAttribute("transform") !== transform) group.setAttribute("transform", transform);
  }

  createEdge() {
    const group = svgEl("g", { class: "edge" });
    group.parts = {
      hit: svgEl("path", { class: "edge-hit" }, group),
      line: svgEl("path", { class: "edge-line", "marker-end": "url(#arrow)" }, group),
      badge: null,
    };
    return group;
  }

  updateEdge(group, edge) {
    const source = this.store.node(edge.source);
    const target = this.store.node(edge.target);
    if (group.dataset.edgeId !== edge.id) group.dataset.edgeId = edge.id;
    if (group.dataset.source !== edge.source) group.dataset.source = edge.source;
    if (group.dataset.target !== edge.target) group.dataset.target = edge.target;
    const name = `Connection from ${source?.label ?? edge.source} to ${target?.label ?? edge.target}${edge.label ? ` (${edge.label})` : ""}`;
    if (group.getAttribute("aria-label") !== name) group.setAttribute("aria-label", name);
    const caption = edgeCaption(edge, source);
    if (caption || group.parts.caption) {
      if (!group.parts.caption) group.parts.caption = svgEl("text", { class: "edge-caption", "text-anchor": "middle" }, group);
      if (group.parts.caption.textContent !== caption) group.parts.caption.textContent = caption;
      group.pathKey = null; // re-place the caption
    }
    this.pathEdge(group, source, target);
  }

  pathEdge(group, source, target) {
    if (!source || !target) return;
    const key = `${source.x},${source.y},${target.x},${target.y}`;
    if (group.pathKey === key) return;
    group.pathKey = key;
    const d = edgePath(source.x + NODE_W, source.y + NODE_H / 2, target.x, target.y + NODE_H / 2);
    group.parts.hit.setAttribute("d", d);
    group.parts.line.setAttribute("d", d);
    if (group.parts.badge) this.placeEdgeBadge(group, source, target);
    if (group.parts.caption) {
      group.parts.caption.setAttribute("x", (source.x + NODE_W + target.x) / 2);
      group.parts.caption.setAttribute("y", (source.y + target.y) / 2 + NODE_H / 2 - 6);
    }
  }

  placeEdgeBadge(group, source, target) {
    group.parts.badge.setAttribute("transform", `translate(${(source.x + NODE_W + target.x) / 2} ${(source.y + target.y) / 2 + NODE_H / 2})`);
  }

  // Cheap update while dragging: only the moved nodes and their edges.
  moveNodes(ids) {
    const edges = new Set();
    for (const id of ids) {
      const node = this.store.node(id);
      const element = this.nodeEls.get(id);
      if (node && element) element.setAttribute("transform", `translate(${node.x} ${node.y})`);
      for (const edgeId of this.store.incident(id)) edges.add(edgeId);
    }
    for (const edgeId of edges) {
      const edge = this.store.edge(edgeId);
      const element = this.edgeEls.get(edgeId);
      if (edge && element) this.pathEdge(element, this.store.node(edge.source), this.store.node(edge.target));
    }
  }

  // --- selection -----------------------------------------------------------------------------

  select(nodes = [], edges = [], { add = false } = {}) {
    if (!add) { this.selectedNodes.clear(); this.selectedEdges.clear(); }
    for (const id of nodes) this.selectedNodes.add(id);
    for (const id of edges) this.selectedEdges.add(id);
    this.paintSelection();
    this.options.onSelect?.();
  }

  toggle(kind, id) {
    const set = kind === "node" ? this.selectedNodes : this.selectedEdges;
    if (set.has(id)) set.delete(id); else set.add(id);
    this.paintSelection();
    this.options.onSelect?.();
  }

  paintSelection() {
    for (const [id, element] of this.nodeEls) {
      const on = this.selectedNodes.has(id);
      if (element.classList.contains("selected") !== on) {
        element.classList.toggle("selected", on);
        element.setAttribute("aria-pressed", String(on));
      }
    }
    for (const [id, element] of this.edgeEls) element.classList.toggle("selected", this.selectedEdges.has(id));
  }

  focusNode(id) { this.nodeEls.get(id)?.focus({ preventScroll: true }); }

  // --- lint badges, diff and search highlights -----------------------------------------------

  setLint(findings) {
    const nodes = new Map();
    const edges = new Map();
    for (const finding of findings) {
      const bucket = finding.edge ? edges : finding.node ? nodes : null;
      const key = finding.edge || finding.node;
      if (!bucket) continue;
      if (!bucket.has(key)) bucket.set(key, []);
      bucket.get(key).push(finding);
    }
    this.lint = { nodes, edges };
    this.paintLint();
  }

  paintLint() {
    const paint = (element, findings, isEdge) => {
      const key = findings?.length ? findings.map((f) => `${f.severity}:${f.message}`).join("\n") : "";
      if (element.lintKey === key || (!key && !element.lintKey)) return;
      element.lintKey = key;
      element.classList.remove("lint-error", "lint-warning");
      let badge = element.parts.badge;
      if (!key) { if (badge) badge.style.display = "none"; return; }
      if (!badge) {
        badge = svgEl("g", { class: "badge" }, element);
        if (!isEdge) badge.setAttribute("transform", `translate(${NODE_W - 4} 4)`);
        svgEl("circle", { r: isEdge ? 8 : 9 }, badge);
        svgEl("text", { "text-anchor": "middle", y: 4 }, badge);
        svgEl("title", {}, badge);
        element.parts.badge = badge;
      }
      const severity = findings.some((f) => f.severity === "error") ? "error" : "warning";
      element.classList.add(`lint-${severity}`);
      badge.style.display = "";
      badge.setAttribute("class", `badge badge-${severity}`);
      badge.querySelector("text").textContent = String(findings.length);
      badge.querySelector("title").textContent = key;
      if (isEdge) {
        const edge = this.store.edge(element.dataset.edgeId);
        const source = edge && this.store.node(edge.source);
        const target = edge && this.store.node(edge.target);
        if (source && target) this.placeEdgeBadge(element, source, target);
      }
    };
    for (const [id, element] of this.nodeEls) paint(element, this.lint.nodes.get(id), false);
    for (const [id, element] of this.edgeEls) paint(element, this.lint.edges.get(id), true);
  }

  setMarks(className, nodeIds = [], edgeIds = []) {
    for (const element of this.svg.querySelectorAll(`.${className}`)) element.classList.remove(className);
    for (const id of nodeIds) this.nodeEls.get(id)?.classList.add(className);
    for (const id of edgeIds) this.edgeEls.get(id)?.classList.add(className);
  }

  // Removed nodes and edges of a diff, drawn as dashed ghosts from the older document.
  setGhosts(nodes = [], edges = [], lookup = () => null) {
    this.layers.ghosts.replaceChildren();
    for (const node of nodes) {
      const group = svgEl("g", { class: "ghost diff-removed", transform: `translate(${node.x} ${node.y})`, "data-ghost-id": node.id }, this.layers.ghosts);
      svgEl("rect", { width: NODE_W, height: NODE_H, rx: 8 }, group);
      const text = svgEl("text", { x: 12, y: 31 }, group);
      text.textContent = clip(`− ${node.label || node.id}`, LABEL_CHARS + 4);
      svgEl("title", {}, group).textContent = `Removed: ${node.label} (${node.id})`;
    }
    for (const edge of edges) {
      const source = this.store.node(edge.source) || lookup(edge.source);
      const target = this.store.node(edge.target) || lookup(edge.target);
      if (!source || !target) continue;
      svgEl("path", { class: "ghost-edge diff-removed", d: edgePath(source.x + NODE_W, source.y + NODE_H / 2, target.x, target.y + NODE_H / 2) }, this.layers.ghosts);
    }
  }

  // --- pointer and wheel interactions --------------------------------------------------------

  bind() {
    const svg = this.svg;
    svg.addEventListener("pointerdown", (event) => this.pointerDown(event));
    svg.addEventListener("pointermove", (event) => this.pointerMove(event));
    svg.addEventListener("pointerup", (event) => this.pointerUp(event));
    svg.addEventListener("pointercancel", () => this.cancelGesture());
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      if (event.ctrlKey || event.metaKey) {
        this.zoomBy(Math.exp(-event.deltaY * 0.002), event.clientX, event.clientY);
      } else {
        this.view.x -= event.deltaX; this.view.y -= event.deltaY; this.applyView();
      }
    }, { passive: false });
    window.addEventListener("keydown", (event) => { if (event.code === "Space" && !isTyping(event.target)) this.spaceHeld = true; });
    window.addEventListener("keyup", (event) => { if (event.code === "Space") this.spaceHeld = false; });
    window.addEventListener("resize", () => this.minimap?.draw());
  }

  pointerDown(event) {
    if (this.gesture) return;
    const start = this.toWorld(event.clientX, event.clientY);
    const panning = event.button === 1 || (event.button === 0 && (this.spaceHeld || event.altKey));
    if (panning) {
      this.gesture = { type: "pan", x: event.clientX, y: event.clientY, view: { ...this.view } };
    } else if (event.button !== 0) {
      return;
    } else {
      const port = event.target.closest("[data-port]");
      const nodeEl = event.target.closest("g.node");
      const edgeEl = event.target.closest("g.edge");
      const editable = this.options.editable;
      if (this.options.connectingFrom?.() && nodeEl) {
        this.options.onConnectTo?.(nodeEl.dataset.nodeId);
        event.preventDefault();
        return;
      }
      if (port && port.dataset.port === "out" && nodeEl && editable) {
        const from = nodeEl.dataset.nodeId;
        const node = this.store.node(from);
        const line = svgEl("path", { class: "wire-preview" }, this.layers.overlay);
        this.gesture = { type: "wire", from, line, x0: node.x + NODE_W, y0: node.y + NODE_H / 2 };
        this.updateWire(start);
        event.preventDefault();
      } else if (nodeEl) {
        const id = nodeEl.dataset.nodeId;
        if (event.shiftKey) this.toggle("node", id);
        else if (!this.selectedNodes.has(id)) this.select([id]);
        if (editable && this.selectedNodes.has(id)) {
          const ids = [...this.selectedNodes];
          const origin = new Map(ids.map((nid) => [nid, { x: this.store.node(nid).x, y: this.store.node(nid).y }]));
          this.gesture = { type: "move", ids, origin, start, lead: id, moved: false, clicked: !event.shiftKey, before: null };
        } else {
          this.gesture = { type: "click" };
        }
      } else if (edgeEl) {
        const id = edgeEl.dataset.edgeId;
        if (event.shiftKey) this.toggle("edge", id); else this.select([], [id]);
        this.gesture = { type: "click" };
      } else {
        const rect = svgEl("rect", { class: "rubber-band" }, this.layers.overlay);
        this.gesture = { type: "band", start, rect, add: event.shiftKey, x: event.clientX, y: event.clientY };
        if (!event.shiftKey && (this.selectedNodes.size || this.selectedEdges.size)) this.select();
        this.svg.focus({ preventScroll: true });
      }
    }
    this.svg.setPointerCapture?.(event.pointerId);
  }

  pointerMove(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    if (gesture.type === "pan") {
      this.view.x = gesture.view.x + event.clientX - gesture.x;
      this.view.y = gesture.view.y + event.clientY - gesture.y;
      this.applyView();
    } else if (gesture.type === "wire") {
      this.updateWire(this.toWorld(event.clientX, event.clientY));
      const over = document.elementFromPoint(event.clientX, event.clientY)?.closest?.("g.node");
      this.setMarks("wire-target", over && over.dataset.nodeId !== gesture.from ? [over.dataset.nodeId] : []);
    } else if (gesture.type === "move") {
      const point = this.toWorld(event.clientX, event.clientY);
      let dx = point.x - gesture.start.x;
      let dy = point.y - gesture.start.y;
      if (!gesture.moved && Math.hypot(dx * this.view.k, dy * this.view.k) < 3) return;
      if (!gesture.moved) { gesture.moved = true; gesture.before = this.store.begin(); this.svg.classList.add("dragging"); }
      const lead = gesture.origin.get(gesture.lead);
      if (this.options.snap()) {
        dx = Math.round((lead.x + dx) / GRID) * GRID - lead.x;
        dy = Math.round((lead.y + dy) / GRID) * GRID - lead.y;
      }
      const limit = this.store.boot.limits.max_coordinate;
      for (const id of gesture.ids) {
        const node = this.store.node(id);
        const origin = gesture.origin.get(id);
        node.x = clamp(origin.x + dx, -limit, limit);
        node.y = clamp(origin.y + dy, -limit, limit);
      }
      this.moveNodes(gesture.ids);
      this.options.onDrag?.();
    } else if (gesture.type === "band") {
      const point = this.toWorld(event.clientX, event.clientY);
      const x = Math.min(point.x, gesture.start.x); const y = Math.min(point.y, gesture.start.y);
      gesture.box = { x, y, w: Math.abs(point.x - gesture.start.x), h: Math.abs(point.y - gesture.start.y) };
      for (const [key, value] of Object.entries({ x, y, width: gesture.box.w, height: gesture.box.h })) gesture.rect.setAttribute(key, value);
    }
  }

  pointerUp(event) {
    const gesture = this.gesture;
    this.gesture = null;
    this.svg.classList.remove("dragging");
    if (!gesture) return;
    if (gesture.type === "wire") {
      gesture.line.remove();
      this.setMarks("wire-target");
      const over = document.elementFromPoint(event.clientX, event.clientY)?.closest?.("g.node");
      if (over) this.options.onWire?.(gesture.from, over.dataset.nodeId);
    } else if (gesture.type === "move") {
      if (!gesture.moved) {
        if (gesture.clicked && this.selectedNodes.size > 1) this.select([gesture.lead]);
        return;
      }
      const box = this.svg.getBoundingClientRect();
      const outside = event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
      if (outside) {
        for (const id of gesture.ids) Object.assign(this.store.node(id), gesture.origin.get(id));
        this.moveNodes(gesture.ids);
        this.options.notify?.("Dropped outside the canvas: the node went back to where it was.", "warning");
        return;
      }
      const label = gesture.ids.length === 1 ? "Move node" : `Move ${gesture.ids.length} nodes`;
      this.store.commit(label, gesture.before);
    } else if (gesture.type === "band") {
      gesture.rect.remove();
      if (!gesture.box || (gesture.box.w < 3 && gesture.box.h < 3)) return;
      const { x, y, w, h } = gesture.box;
      const hits = this.store.doc.nodes.filter((node) => node.x < x + w && node.x + NODE_W > x && node.y < y + h && node.y + NODE_H > y).map((node) => node.id);
      const inside = new Set(hits);
      const edges = this.store.doc.edges.filter((edge) => inside.has(edge.source) && inside.has(edge.target)).map((edge) => edge.id);
      this.select(hits, edges, { add: gesture.add });
    }
  }

  cancelGesture() {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    gesture.line?.remove(); gesture.rect?.remove();
    if (gesture.type === "move" && gesture.moved) {
      for (const id of gesture.ids) Object.assign(this.store.node(id), gesture.origin.get(id));
      this.moveNodes(gesture.ids);
    }
  }

  updateWire(point) {
    const { line, x0, y0 } = this.gesture;
    line.setAttribute("d", edgePath(x0, y0, point.x, point.y));
  }
}

// A short text on the wire: its label, or what its config does (a subscription filter, an input
// transformer), so configured connections stand out.
function edgeCaption(edge, source) {
  if (edge.label) return clip(edge.label, 24);
  const config = edge.config || {};
  if (source?.kind === "topic" && config.filter_policy) return "filter policy";
  if (source?.kind === "rule" && config.input_mode && config.input_mode !== "matched_event") return `input: ${config.input_mode.replace(/_/g, " ")}`;
  return "";
}

export function edgePath(x1, y1, x2, y2) {
  // Forward wires bow gently; backward ones leave right and enter left in a compact S.
  const dx = x2 >= x1 ? Math.max(40, (x2 - x1) / 2) : Math.min(160, 60 + (x1 - x2) / 4);
  return `M${x1} ${y1} C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`;
}

export function isTyping(target) {
  return !!target?.closest?.("input, textarea, select, [contenteditable=true]");
}

function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

// The overview in the corner: every node as a small block, the visible area as a frame.
class Minimap {
  constructor(svg, canvas) {
    this.svg = svg;
    this.canvas = canvas;
    this.nodes = svg.querySelector(".mini-nodes");
    this.frame = svg.querySelector(".mini-view");
    this.path = svgEl("path", { class: "mini-node" }, this.nodes);
    this.scale = 1;
    this.origin = { x: 0, y: 0 };
    const jump = (event) => {
      const box = this.svg.getBoundingClientRect();
      const x = (event.clientX - box.left) / this.scale + this.origin.x;
      const y = (event.clientY - box.top) / this.scale + this.origin.y;
      const view = this.canvas.svg.getBoundingClientRect();
      this.canvas.view.x = view.width / 2 - x * this.canvas.view.k;
      this.canvas.view.y = view.height / 2 - y * this.canvas.view.k;
      this.canvas.applyView();
    };
    svg.addEventListener("pointerdown", (event) => { this.dragging = true; svg.setPointerCapture(event.pointerId); jump(event); });
    svg.addEventListener("pointermove", (event) => { if (this.dragging) jump(event); });
    svg.addEventListener("pointerup", () => { this.dragging = false; this.draw(); });
    this.pending = 0;
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; if (this.dragging) this.drawView(); else this.draw(); });
  }

  draw() {
    const area = this.canvas.bounds();
    const box = this.svg.getBoundingClientRect();
    if (!area || !box.width) { this.path.setAttribute("d", ""); return; }
    const pad = 40;
    const seen = this.canvas.visibleWorld();
    const x0 = Math.min(area.x - pad, seen.x);
    const y0 = Math.min(area.y - pad, seen.y);
    const x1 = Math.max(area.x + area.w + pad, seen.x + seen.w);
    const y1 = Math.max(area.y + area.h + pad, seen.y + seen.h);
    const world = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    this.scale = Math.min(box.width / world.w, box.height / world.h);
    this.origin = { x: world.x - (box.width / this.scale - world.w) / 2, y: world.y - (box.height / this.scale - world.h) / 2 };
    const w = Math.max(2, NODE_W * this.scale);
    const h = Math.max(2, NODE_H * this.scale);
    const parts = [];
    for (const node of this.canvas.store.doc.nodes) {
      const x = (node.x - this.origin.x) * this.scale;
      const y = (node.y - this.origin.y) * this.scale;
      parts.push(`M${x.toFixed(1)} ${y.toFixed(1)}h${w.toFixed(1)}v${h.toFixed(1)}h${(-w).toFixed(1)}z`);
    }
    this.path.setAttribute("d", parts.join(""));
    this.drawView();
  }

  drawView() {
    if (!this.scale) return;
    const seen = this.canvas.visibleWorld();
    this.frame.setAttribute("x", (seen.x - this.origin.x) * this.scale);
    this.frame.setAttribute("y", (seen.y - this.origin.y) * this.scale);
    this.frame.setAttribute("width", Math.max(0, seen.w * this.scale));
    this.frame.setAttribute("height", Math.max(0, seen.h * this.scale));
  }

}
