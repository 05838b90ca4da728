// The state machine page: a JSON editor that indents and formats, problem paths and graph states
// that find their place in the definition, and graph states that find their visits in the
// execution view. Validation itself is an htmx request; this module adds no network calls.

const editor = document.querySelector("[data-asl-editor]");

function selectText(start, length) {
  if (!editor) return;
  editor.focus();
  editor.setSelectionRange(start, start + length);
  const line = editor.value.slice(0, start).split("\n").length;
  const height = editor.scrollHeight / Math.max(1, editor.value.split("\n").length);
  editor.scrollTop = Math.max(0, (line - 4) * height);
}

// A pointer such as /States/Charge/Next: select its last key inside its state, as near as the
// text allows without parsing positions.
function findPointer(pointer) {
  if (!editor) return;
  const parts = pointer.split("/").filter(Boolean).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  let from = 0;
  let found = -1;
  let length = 0;
  for (const part of parts) {
    if (/^\d+$/.test(part)) continue;
    const needle = JSON.stringify(part) + ":";
    const at = editor.value.indexOf(needle, from);
    if (at < 0) {
      const loose = editor.value.indexOf(JSON.stringify(part), from);
      if (loose >= 0) { found = loose; length = JSON.stringify(part).length; }
      break;
    }
    found = at;
    length = needle.length - 1;
    from = at + needle.length;
  }
  if (found >= 0) selectText(found, length);
}

function stateName(target) {
  const group = target.closest("[data-state]");
  return group ? group.getAttribute("data-state") : null;
}

if (editor) {
  editor.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || editor.readOnly) return;
    event.preventDefault();
    const { selectionStart: start, selectionEnd: end } = editor;
    editor.setRangeText("  ", start, end, "end");
    editor.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  if (target.closest("[data-asl-format]") && editor && !editor.readOnly) {
    try {
      editor.value = JSON.stringify(JSON.parse(editor.value), null, 2);
      editor.dispatchEvent(new Event("input", { bubbles: true }));
    } catch (error) {
      findPointer("/");
    }
    return;
  }
  const path = target.closest("[data-asl-path]");
  if (path) {
    findPointer(path.getAttribute("data-asl-path"));
    return;
  }
  const name = stateName(target);
  if (!name) return;
  document.querySelectorAll(".asl-state.selected").forEach((node) => node.classList.remove("selected"));
  target.closest("[data-state]").classList.add("selected");
  if (editor) {
    findPointer(`/States/${name}`);
    return;
  }
  const visits = [...document.querySelectorAll("[data-visit-state]")].filter((visit) => visit.getAttribute("data-visit-state") === name);
  document.querySelectorAll(".asl-visit.highlight").forEach((visit) => visit.classList.remove("highlight"));
  visits.forEach((visit) => visit.classList.add("highlight"));
  if (visits.length) visits[visits.length - 1].scrollIntoView({ behavior: "smooth", block: "center" });
});
