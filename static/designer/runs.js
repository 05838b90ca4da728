// The topology list's Run column, kept current: polls the run states every few seconds (a run
// changes state a handful of times, so polling costs less than a socket per list) and offers
// Deploy / Stop beside each topology the user may edit.
const POLL_MS = 3000;
const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
const LABELS = { stopped: "Stopped", starting: "Starting", running: "Running", paused: "Paused", failed: "Failed" };

function paint(row, state, editable) {
  const badge = row.querySelector(".run-state");
  if (!badge) return;
  if (badge.dataset.state !== state) {
    badge.dataset.state = state;
    badge.textContent = LABELS[state] || state;
    badge.className = `run-state run-${state}`;
  }
  if (!editable) return;
  let button = row.querySelector("button[data-run-toggle]");
  if (!button) {
    button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.dataset.runToggle = "";
    badge.after(" ", button);
  }
  const live = state === "running" || state === "paused";
  const name = row.querySelector("td a")?.textContent || "topology";
  button.textContent = live ? "Stop" : "Deploy";
  button.dataset.command = live ? "stop" : "deploy";
  button.setAttribute("aria-label", `${live ? "Stop" : "Deploy"} ${name}`);
}

async function command(row, button) {
  const id = row.dataset.topologyId;
  button.disabled = true;
  try {
    const response = await fetch(`/topologies/${id}/run/${button.dataset.command}/`, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (data.problems?.length) window.alert(`Deploy refused:\n${data.problems.map((p) => p.message).join("\n")}`);
    else if (!response.ok && data.notice) window.alert(data.notice);
  } finally {
    button.disabled = false;
    poll();
  }
}

let latest = 0; // polls overlap: only the newest may paint, or an old answer undoes a command

async function poll() {
  const generation = ++latest;
  try {
    const response = await fetch("/runs/states.json", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    const { states, editable } = await response.json();
    if (generation !== latest) return;
    const canEdit = new Set((editable || []).map(String));
    for (const row of document.querySelectorAll("tr[data-topology-id]")) {
      const state = states[row.dataset.topologyId];
      if (state) paint(row, state, canEdit.has(row.dataset.topologyId));
    }
  } catch {
    // offline: the next poll tries again
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-run-toggle]");
  if (button) command(button.closest("tr[data-topology-id]"), button);
});
// htmx replaces the rows on search: paint the new ones at once.
document.body.addEventListener("htmx:afterSwap", () => poll());
poll();
setInterval(poll, POLL_MS);
