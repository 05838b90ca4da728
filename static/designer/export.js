// Export PNG: fetch the server's SVG of the topology, draw it on a canvas at 1x or 2x, download.
// The server renders the SVG from the saved document, so the PNG matches every other export.

const PNG_TYPE = "image/png";

async function svgImage(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`the SVG export answered ${response.status}`);
  }
  const blob = new Blob([await response.text()], { type: "image/svg+xml" });
  const objectUrl = URL.createObjectURL(blob);
  try {
    const image = new Image();
    image.src = objectUrl;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(objectUrl);
  }
}

function canvasBlob(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no PNG produced"))), PNG_TYPE);
  });
}

export async function rasterise(url, scale) {
  const image = await svgImage(url);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  const context = canvas.getContext("2d");
  // A white page, as the SVG has; transparent pixels look broken in most viewers.
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  return canvasBlob(canvas);
}

function download(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function exportPng(button) {
  const menu = button.closest("[data-export-menu]");
  const status = menu ? menu.querySelector("[data-export-status]") : null;
  const say = (text) => {
    if (status) status.textContent = text;
  };
  button.disabled = true;
  say("Rendering PNG…");
  try {
    const blob = await rasterise(button.dataset.src, Number(button.dataset.scale) || 1);
    download(blob, button.dataset.filename || "topology.png");
    say("PNG downloaded.");
  } catch (error) {
    say(`PNG export failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-export-png]");
  if (button) {
    event.preventDefault();
    exportPng(button);
  }
});
