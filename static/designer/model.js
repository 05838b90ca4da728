// The topology document in the browser: edits with undo/redo, wiring rules, ids, copy/paste, search.
// The wiring rules and their refusal texts come from the server (runtime/graph.py), never retyped here.

const HISTORY_LIMIT = 200;

export class Store extends EventTarget {
  constructor(doc, boot) {
    super();
    this.boot = boot;
    this.kinds = boot.kinds;
    this.doc = normalise(doc);
    this.undoStack = [];
    this.redoStack = [];
    this.counter = 0; // bumps on every change; the save logic compares it
    this.index = null;
  }

  // --- lookups -------------------------------------------------------------------------------

  lookup() {
    if (!this.index) {
      const nodes = new Map();
      const edges = new Map();
      const incident = new Map();
      for (const node of this.doc.nodes) { nodes.set(node.id, node); incident.set(node.id, []); }
      for (const edge of this.doc.edges) {
        edges.set(edge.id, edge);
        incident.get(edge.source)?.push(edge.id);
        if (edge.target !== edge.source) incident.get(edge.target)?.push(edge.id);
      }
      this.index = { nodes, edges, incident };
    }
    return this.index;
  }
  node(id) { return this.lookup().nodes.get(id); }
  edge(id) { return this.lookup().edges.get(id); }
  incident(id) { return this.lookup().incident.get(id) || []; }
  kind(name) { return this.kinds[name]; }

  // --- edits ---------------------------------------------------------------------------------

  // Runs fn on the document as one undoable step; fn returning false means "nothing changed".
  // `coalesce`: repeated edits with the same key within a second (arrow-key nudges) undo together.
  edit(label, fn, reason = label, coalesce = null) {
    const before = structuredClone(this.doc);
    const result = fn(this.doc);
    if (result === false) { this.doc = before; this.index = null; return false; }
    const top = this.undoStack[this.undoStack.length - 1];
    const now = Date.now();
    if (coalesce && top && top.coalesce === coalesce && now - top.at < 1000) {
      top.at = now;
      this.redoStack = [];
    } else {
      this.push(label, before);
      const entry = this.undoStack[this.undoStack.length - 1];
      entry.coalesce = coalesce;
      entry.at = now;
    }
    this.changed(reason);
    return result === undefined ? true : result;
  }

  // For drags: take the snapshot at the start, commit it once at the end.
  begin() { return structuredClone(this.doc); }
  commit(label, before) { this.push(label, before); this.changed(label); }
  push(label, before) {
    this.undoStack.push({ label, doc: before });
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  undo() {
    const entry = this.undoStack.pop();
    if (!entry) return null;
    this.redoStack.push({ label: entry.label, doc: this.doc });
    this.doc = entry.doc;
    this.changed("undo");
    return entry.label;
  }

  redo() {
    const entry = this.redoStack.pop();
    if (!entry) return null;
    this.undoStack.push({ label: entry.label, doc: this.doc });
    this.doc = entry.doc;
    this.changed("redo");
    return entry.label;
  }

  // Replace the whole document (reload, restore); undoable so nothing typed is lost.
  replace(doc, label) {
    this.push(label, this.doc);
    this.doc = normalise(doc);
    this.changed(label);
  }

  changed(reason) {
    this.index = null;
    this.counter += 1;
    this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  // --- ids and new nodes ---------------------------------------------------------------------

  uniqueNodeId(kindName) {
    const base = kindName.replace(/_/g, "-");
    let n = 1;
    while (this.node(`${base}-${n}`)) n += 1;
    return { id: `${base}-${n}`, n };
  }

  uniqueEdgeId(taken = new Set()) {
    let n = this.doc.edges.length + 1;
    while (this.edge(`e${n}`) || taken.has(`e${n}`)) n += 1;
    return `e${n}`;
  }

  newNode(kindName, x, y) {
    const kind = this.kind(kindName);
    const { id, n } = this.uniqueNodeId(kindName);
    return { id, kind: kindName, label: `${kind.label} ${n}`, x: round(x), y: round(y), config: {} };
  }

  // --- wiring rules --------------------------------------------------------------------------

  // Why source → target may not be wired, or null. Same texts as runtime/graph.py's lint.
  wireProblem(sourceId, targetId) {
    const source = this.node(sourceId);
    const target = this.node(targetId);
    if (!source || !target) return "Both ends of a connection must be nodes.";
    if (sourceId === targetId) {
      return `“${source.label}” is wired to itself, which would loop every message forever.`;
    }
    const refused = this.boot.wiring[source.kind]?.[target.kind];
    if (refused) return refused;
    const out = this.doc.edges.filter((edge) => edge.source === sourceId);
    if (source.kind !== "topic" && out.some((edge) => edge.target === targetId)) {
      return "This pair of nodes is already connected; the second edge doubles deliveries.";
    }
    const limit = this.kind(source.kind).max_out_edges;
    if (limit !== null && limit !== undefined && out.length >= limit) {
      const article = capitalise(this.boot.articles[source.kind]);
      return `${article} may have at most ${limit} targets; “${source.label}” already has ${out.length}.`;
    }
    return null;
  }

  // --- copy and paste ------------------------------------------------------------------------

  serialise(nodeIds) {
    const ids = new Set(nodeIds);
    const nodes = this.doc.nodes.filter((node) => ids.has(node.id));
    const edges = this.doc.edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target));
    return JSON.stringify({ flowyard: "selection", nodes, edges }, null, 1);
  }

  // Parses clipboard text into nodes/edges with fresh ids; throws Error with a message for people.
  parseClipboard(text, offset) {
    let data;
    try { data = JSON.parse(text); } catch {
      throw new Error("Paste refused: the clipboard does not hold Flowyard nodes (not JSON).");
    }
    if (!data || typeof data !== "object" || !Array.isArray(data.nodes)) {
      throw new Error("Paste refused: the clipboard does not hold Flowyard nodes.");
    }
    const unknown = [];
    for (const node of data.nodes) {
      if (!node || typeof node !== "object" || !(node.kind in this.kinds)) {
        const what = node && typeof node === "object" ? String(node.kind) : String(node);
        unknown.push(what.slice(0, 40));
      }
    }
    if (unknown.length) {
      const names = [...new Set(unknown)].map((name) => `“${name}”`).join(", ");
      throw new Error(`Paste refused: unknown node kind ${names}. Nothing was added.`);
    }
    if (this.doc.nodes.length + data.nodes.length > this.boot.limits.max_nodes) {
      throw new Error(`Paste refused: a topology holds at most ${this.boot.limits.max_nodes} nodes.`);
    }
    const renamed = new Map();
    const taken = new Set(this.doc.nodes.map((node) => node.id));
    const nodes = data.nodes.map((raw) => {
      const { id } = this.uniqueNodeIdAvoiding(raw.kind, taken, raw.id);
      taken.add(id);
      renamed.set(String(raw.id), id);
      const label = typeof raw.label === "string" ? raw.label.slice(0, this.boot.limits.max_label) : id;
      const config = raw.config && typeof raw.config === "object" && !Array.isArray(raw.config) ? raw.config : {};
      return { id, kind: raw.kind, label, x: round(num(raw.x) + offset), y: round(num(raw.y) + offset), config: structuredClone(config) };
    });
    const edges = [];
    const takenEdges = new Set();
    for (const raw of Array.isArray(data.edges) ? data.edges : []) {
      if (!raw || !renamed.has(String(raw.source)) || !renamed.has(String(raw.target))) continue;
      const id = this.uniqueEdgeId(takenEdges);
      takenEdges.add(id);
      const edge = { id, source: renamed.get(String(raw.source)), target: renamed.get(String(raw.target)), config: {} };
      if (raw.config && typeof raw.config === "object" && !Array.isArray(raw.config)) edge.config = structuredClone(raw.config);
      if (typeof raw.label === "string" && raw.label) edge.label = raw.label.slice(0, this.boot.limits.max_label);
      edges.push(edge);
    }
    return { nodes, edges };
  }

  uniqueNodeIdAvoiding(kindName, taken, wanted) {
    const pattern = new RegExp(`^(?:${this.boot.limits.id_pattern})$`);
    if (typeof wanted === "string" && pattern.test(wanted) && !taken.has(wanted)) return { id: wanted };
    const base = kindName.replace(/_/g, "-");
    let n = 1;
    while (taken.has(`${base}-${n}`)) n += 1;
    return { id: `${base}-${n}` };
  }

  // --- search --------------------------------------------------------------------------------

  search(query) {
    const needle = query.trim().toLowerCase();
    if (!needle) return [];
    const hits = [];
    for (const node of this.doc.nodes) {
      const kind = this.kind(node.kind);
      const where = [
        ["label", node.label], ["id", node.id], ["kind", `${node.kind} ${kind?.label || ""}`],
        ["config", JSON.stringify(node.config || {})],
      ].find(([, text]) => String(text).toLowerCase().includes(needle));
      if (where) hits.push({ node, field: where[0] });
    }
    return hits;
  }
}

export function normalise(doc) {
  const copy = structuredClone(doc || {});
  copy.nodes = Array.isArray(copy.nodes) ? copy.nodes : [];
  copy.edges = Array.isArray(copy.edges) ? copy.edges : [];
  for (const node of copy.nodes) { node.config = node.config || {}; }
  for (const edge of copy.edges) { edge.config = edge.config || {}; }
  return copy;
}

export function capitalise(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }
function round(value) { return Math.round(value * 10) / 10; }
function num(value) { return typeof value === "number" && Number.isFinite(value) ? value : 0; }
