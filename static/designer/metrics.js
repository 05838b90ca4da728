// The metrics page: throughput, latency percentiles, queue depths and errors over the last five
// minutes, one point per second, drawn as small inline-SVG charts from the topology's live socket.
import { LiveSocket, showLiveStatus } from "./live.js";

const NS = "http://www.w3.org/2000/svg";
const WINDOW = 300; // seconds kept and drawn

const boot = JSON.parse(document.getElementById("metrics-boot").textContent);
const targets = new Set(Object.keys(boot.nodes));
for (const edge of Object.values(boot.edges)) targets.delete(edge.source); // final targets only
const queues = Object.entries(boot.nodes).filter(([, node]) => node.kind === "queue").map(([id]) => id);

const series = { throughput: [], latency: [], depth: [], errors: [] };
let bucket = freshBucket();
let depths = {};

function freshBucket() {
  return { second: Math.floor(Date.now() / 1000), delivered: 0, errors: 0, latency: null };
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    depths = {};
    for (const [id, node] of Object.entries(frame.nodes || {})) if (node.g?.depth !== undefined) depths[id] = node.g.depth;
    paintState(frame.state);
    return;
  }
  if (frame.type !== "tick") return;
  for (const [id, node] of Object.entries(frame.nodes || {})) {
    if (targets.has(id)) bucket.delivered += node.d?.in || 0;
    bucket.errors += (node.d?.errors || 0) + (node.d?.dead_lettered || 0);
    if (node.g?.depth !== undefined) depths[id] = node.g.depth;
  }
  if (frame.latency) bucket.latency = frame.latency;
  paintState(frame.state);
}

function paintState(state) {
  const badge = document.getElementById("run-state");
  if (!badge || !state) return;
  const name = { created: "starting", stopping: "stopped" }[state] || state;
  badge.textContent = name.charAt(0).toUpperCase() + name.slice(1);
  badge.className = `run-state run-${name}`;
}

function roll() {
  const now = Math.floor(Date.now() / 1000);
  while (bucket.second < now) {
    const seconds = 1;
    series.throughput.push([bucket.delivered / seconds]);
    const lat = bucket.latency;
    series.latency.push(lat ? [lat.p50 * 1000, lat.p95 * 1000, lat.p99 * 1000] : [null, null, null]);
    series.depth.push(queues.slice(0, 3).map((id) => depths[id] ?? 0));
    series.errors.push([bucket.errors]);
    for (const values of Object.values(series)) if (values.length > WINDOW) values.shift();
    bucket = { second: bucket.second + 1, delivered: 0, errors: 0, latency: null };
  }
  draw();
}

function draw() {
  for (const [name, points] of Object.entries(series)) {
    const chart = document.querySelector(`[data-chart="${name}"] svg`);
    if (!chart) continue;
    const lines = points.length ? points[0].length : 0;
    let max = 0;
    for (const point of points) for (const value of point) if (value !== null) max = Math.max(max, value);
    max = max || 1;
    chart.replaceChildren();
    for (let line = 0; line < lines; line++) {
      const coords = [];
      points.forEach((point, index) => {
        if (point[line] === null) return;
        const x = ((index + WINDOW - points.length) / (WINDOW - 1)) * 300;
        const y = 76 - (point[line] / max) * 70;
        coords.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      });
      const polyline = document.createElementNS(NS, "polyline");
      polyline.setAttribute("class", `s${line}`);
      polyline.setAttribute("points", coords.join(" "));
      chart.appendChild(polyline);
    }
    const label = document.createElementNS(NS, "text");
    label.setAttribute("class", "axis");
    label.setAttribute("x", "2");
    label.setAttribute("y", "9");
    label.textContent = `max ${max >= 100 ? Math.round(max) : max.toFixed(1)}`;
    chart.appendChild(label);
    const last = points[points.length - 1];
    const value = document.querySelector(`[data-value="${name}"]`);
    if (value && last) {
      value.textContent = last.map((v) => (v === null ? "–" : v >= 100 ? Math.round(v) : v.toFixed(1))).join(" / ");
    }
  }
}

new LiveSocket(boot.topology, { onFrame, onStatus: showLiveStatus });
setInterval(roll, 1000);
draw();
