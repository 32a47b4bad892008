// GET /: the playground, one self-contained HTML page (no framework). It uses the public API
// like any client: streamed generation (OpenAI's `stream: true` with partial images, so each
// picture comes into focus in place) in the chosen output format, a variations
// button per image, an edit panel where a mask is painted over an image, and an interpolation
// slider between two prompts. The example prompts come from the served bundle's manifest, so
// a first click draws something the model knows. Stable ids and data-testids are part of its
// contract with the browser tests.

export interface PlaygroundOptions {
  sizes: string[];
  bundleId: string;
  /** The bundle's `example_prompts`; the first ones also fill the forms' defaults. */
  examplePrompts?: readonly string[];
}

/** Text into HTML (element content or a double-quoted attribute). */
function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );
}

const styles = `
  * { box-sizing: border-box; }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1rem; min-width: 0; }
  label { display: inline-block; margin: 0.25rem 1rem 0.25rem 0; }
  input, select, textarea, button { font: inherit; max-width: 100%; }
  button { padding: 0.3rem 0.7rem; }
  textarea { width: 100%; min-height: 3rem; }
  progress { width: 100%; height: 1rem; }
  #images, #variations, #edits { display: flex; flex-wrap: wrap; gap: 0.75rem; }
  figure { margin: 0; text-align: center; }
  figure img, #interp-frame { width: 192px; height: 192px; image-rendering: pixelated; border: 1px solid #ddd; }
  #examples { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: 0.25rem 0 0.5rem; }
  .example { border: 1px solid #99b; border-radius: 1rem; background: #f3f3ff; cursor: pointer; }
  #edit-stage { position: relative; width: min(100%, 320px); aspect-ratio: 1; touch-action: none; }
  #edit-stage canvas { position: absolute; inset: 0; width: 100%; height: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
  #edit-stage canvas.empty { background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
  #mask-overlay { cursor: crosshair; opacity: 0.55; }
  #edit-prompt, #interp-a, #interp-b { width: min(100%, 28rem); }
  #status[data-state="error"] { color: #b00020; }
  @media (max-width: 600px) {
    body { margin: 1rem auto; padding: 0 0.6rem; }
    h1 { font-size: 1.5rem; }
    figure img, #interp-frame { width: calc(50vw - 1.5rem); height: auto; aspect-ratio: 1; }
    fieldset { padding: 0.4rem 0.6rem; }
  }
`;

const script = `
const $ = (id) => document.getElementById(id);
const headers = () => ({ authorization: "Bearer " + $("api-key").value.trim() });
function setStatus(text, state) { $("status").textContent = text; $("status").dataset.state = state; }
function setProgress(fraction) {
  $("progress").value = fraction;
  $("progress-label").textContent = Math.round(fraction * 100) + "%";
}
async function failure(res) {
  try { const body = await res.json(); return body.error.message + (body.error.param ? " (" + body.error.param + ")" : ""); }
  catch { return "HTTP " + res.status; }
}
async function* serverSentEvents(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\\n\\n")) !== -1) {
      const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      let event = "message", data = "";
      for (const line of block.split("\\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      yield { event, data: JSON.parse(data) };
    }
  }
}
/** One figure per image, with variations and edit buttons for its current picture. */
function figureFor(container, i) {
  const figure = document.createElement("figure");
  figure.dataset.testid = "image";
  const img = document.createElement("img");
  img.alt = "image " + i; img.dataset.testid = "image-" + i;
  const button = document.createElement("button");
  button.type = "button"; button.textContent = "variations";
  button.dataset.testid = "variations-" + i; button.className = "variations";
  button.addEventListener("click", () => variationsOf(img.src));
  const edit = document.createElement("button");
  edit.type = "button"; edit.textContent = "edit";
  edit.dataset.testid = "edit-" + i; edit.className = "edit";
  edit.addEventListener("click", () => loadForEdit(img.src));
  figure.append(img, document.createElement("br"), button, " ", edit);
  container.append(figure);
  return img;
}
function showImages(container, data) {
  container.replaceChildren();
  data.forEach((item, i) => { figureFor(container, i).src = item.url ?? "data:image/png;base64," + item.b64_json; });
}
const PARTIALS = 2;
// Streams one image into img: each partial replaces the picture in place, then the final one.
// data-kind says which is showing ("partial" or "final"), for the browser test and styling.
async function streamInto(img, body, onEvent) {
  const res = await fetch("/v1/images/generations", {
    method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(await failure(res));
  for await (const { event, data } of serverSentEvents(res)) {
    if (event === "error") throw new Error(data.error.message);
    const mime = "image/" + data.output_format;
    if (event.endsWith(".partial_image")) { img.dataset.kind = "partial"; img.dataset.partial = String(data.partial_image_index); }
    else if (event.endsWith(".completed")) img.dataset.kind = "final";
    else continue;
    img.src = "data:" + mime + ";base64," + data.b64_json;
    onEvent();
  }
}
async function generate(event) {
  event.preventDefault();
  const n = Number($("n").value);
  // One stream per image (a stream carries one image). Seeds: as given (+ i), else the
  // model's derived seed for a single image and a random base for several.
  const seedText = $("seed").value;
  const base = seedText !== "" ? Number(seedText) : n > 1 ? Math.floor(Math.random() * 4e9) : undefined;
  const format = $("format").value;
  setStatus("streaming…", "busy"); setProgress(0); $("generate").disabled = true;
  $("images").replaceChildren();
  let events = 0;
  const total = n * (PARTIALS + 1);
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => {
      const body = { prompt: $("prompt").value, n: 1, size: $("size").value, stream: true,
        partial_images: PARTIALS, output_format: format };
      if (format !== "png") body.output_compression = Number($("compression").value);
      if (base !== undefined) body.seed = (base + i) % 4294967296;
      return streamInto(figureFor($("images"), i), body, () => { events += 1; setProgress(Math.min(1, events / total)); });
    }));
    setProgress(1); setStatus("done", "done");
  } catch (error) { setStatus(String(error.message || error), "error"); }
  finally { $("generate").disabled = false; }
}
/** Any image the page shows (a data: or image URL, any format) as a PNG upload. */
async function pngUpload(src) {
  const bitmap = await createImageBitmap(await (await fetch(src)).blob());
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  return new File([await pngOf(canvas)], "image.png", { type: "image/png" });
}
async function variationsOf(src) {
  setStatus("variations…", "busy");
  try {
    const form = new FormData();
    form.append("image", await pngUpload(src));
    form.append("n", $("n").value); form.append("size", $("size").value);
    const res = await fetch("/v1/images/variations", { method: "POST", headers: headers(), body: form });
    if (!res.ok) throw new Error(await failure(res));
    showImages($("variations"), (await res.json()).data);
    setStatus("done", "done");
  } catch (error) { setStatus(String(error.message || error), "error"); }
}
// Edits: the image is drawn on #edit-image at its own pixel size; #mask-overlay shows the
// painted area, and maskCanvas (never shown) is the mask sent to the API: opaque everywhere
// except where painted, where it is fully transparent (the area to redraw).
const maskCanvas = document.createElement("canvas");
let painting = false;
function brushAt(event) {
  const overlay = $("mask-overlay");
  const rect = overlay.getBoundingClientRect();
  const scale = overlay.width / rect.width;
  const x = (event.clientX - rect.left) * scale, y = (event.clientY - rect.top) * scale;
  const radius = (Number($("brush").value) / 100) * overlay.width;
  for (const [canvas, op, colour] of [[maskCanvas, "destination-out", "#000"], [overlay, "source-over", "#ff00a0"]]) {
    const ctx = canvas.getContext("2d");
    ctx.globalCompositeOperation = op; ctx.fillStyle = colour;
    ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI); ctx.fill();
  }
  $("edit-send").disabled = false;
}
function clearMask() {
  const side = $("edit-image").width;
  maskCanvas.width = side; maskCanvas.height = side;
  const ctx = maskCanvas.getContext("2d"); ctx.fillStyle = "#000"; ctx.fillRect(0, 0, side, side);
  $("mask-overlay").width = side; $("mask-overlay").height = side;
  $("edit-send").disabled = true;
}
async function loadForEdit(source) {
  try {
    const blob = source instanceof Blob ? source : await (await fetch(source)).blob();
    const bitmap = await createImageBitmap(blob);
    // A square crop at the image's size, as the API wants a square PNG.
    const side = Math.min(bitmap.width, bitmap.height);
    const canvas = $("edit-image");
    canvas.width = side; canvas.height = side;
    canvas.getContext("2d").drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, side, side);
    canvas.classList.remove("empty");
    clearMask();
    $("edit-panel").scrollIntoView({ block: "nearest" });
    setStatus("paint over the area to redraw", "idle");
  } catch (error) { setStatus("cannot load that image: " + (error.message || error), "error"); }
}
const pngOf = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
async function sendEdit(event) {
  event.preventDefault();
  setStatus("editing…", "busy"); $("edit-send").disabled = true;
  try {
    const form = new FormData();
    form.append("image", new File([await pngOf($("edit-image"))], "image.png", { type: "image/png" }));
    form.append("mask", new File([await pngOf(maskCanvas)], "mask.png", { type: "image/png" }));
    form.append("prompt", $("edit-prompt").value);
    form.append("n", $("n").value); form.append("size", $("size").value);
    if ($("seed").value !== "") form.append("seed", $("seed").value);
    const res = await fetch("/v1/images/edits", { method: "POST", headers: headers(), body: form });
    if (!res.ok) throw new Error(await failure(res));
    showImages($("edits"), (await res.json()).data);
    setStatus("done", "done");
  } catch (error) { setStatus(String(error.message || error), "error"); }
  finally { $("edit-send").disabled = false; }
}
$("mask-overlay").addEventListener("pointerdown", (e) => {
  if ($("edit-image").classList.contains("empty")) return;
  painting = true; $("mask-overlay").setPointerCapture(e.pointerId); brushAt(e);
});
$("mask-overlay").addEventListener("pointermove", (e) => { if (painting) brushAt(e); });
for (const end of ["pointerup", "pointercancel"]) $("mask-overlay").addEventListener(end, () => { painting = false; });
$("mask-clear").addEventListener("click", clearMask);
$("edit-upload").addEventListener("change", () => { const f = $("edit-upload").files[0]; if (f) loadForEdit(f); });
$("edit-form").addEventListener("submit", sendEdit);
for (const chip of document.querySelectorAll(".example")) {
  chip.addEventListener("click", () => { $("prompt").value = chip.dataset.prompt; $("generate").click(); });
}
let frames = [];
function showFrame() {
  if (!frames.length) return;
  $("interp-frame").src = frames[Number($("interp-slider").value)].url;
  $("interp-frame").hidden = false;
}
async function interpolate(event) {
  event.preventDefault();
  setStatus("interpolating…", "busy"); $("interpolate").disabled = true;
  try {
    const body = { prompt: $("interp-a").value, target_prompt: $("interp-b").value,
      frames: Number($("interp-frames").value), size: $("size").value };
    if ($("seed").value !== "") body.seed = Number($("seed").value);
    const res = await fetch("/v1/images/interpolations", {
      method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(await failure(res));
    frames = (await res.json()).data;
    for (const frame of frames) new Image().src = frame.url; // preload for a smooth slider
    $("interp-slider").max = String(frames.length - 1); $("interp-slider").value = "0";
    $("interp-slider").disabled = false; showFrame();
    setStatus("done", "done");
  } catch (error) { setStatus(String(error.message || error), "error"); }
  finally { $("interpolate").disabled = false; }
}
$("generate-form").addEventListener("submit", generate);
$("format").addEventListener("change", () => { $("compression").disabled = $("format").value === "png"; });
$("compression").disabled = true;
$("interp-form").addEventListener("submit", interpolate);
$("interp-slider").addEventListener("input", showFrame);
`;

export function playgroundPage({
  sizes,
  bundleId,
  examplePrompts = [],
}: PlaygroundOptions): string {
  const sizeOptions = sizes
    .map((size) => `<option${size === "256x256" ? " selected" : ""}>${size}</option>`)
    .join("");
  const [first = "", second = first] = examplePrompts.map(escapeHtml);
  const examples = examplePrompts
    .map(
      (prompt, i) =>
        `<button type="button" class="example" data-testid="example-${i}" data-prompt="${escapeHtml(prompt)}">${escapeHtml(prompt)}</button>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>unclip playground</title>
<style>${styles}</style>
</head>
<body>
<h1>unclip playground</h1>
<p>Model bundle <code id="bundle" data-testid="bundle">${bundleId}</code>. API: <a href="/openapi.json">/openapi.json</a></p>
<label>API key <input id="api-key" data-testid="api-key" value="sk-local-dev" size="24" autocomplete="off"></label>
<form id="generate-form" data-testid="generate-form">
  <fieldset>
    <legend>Generate</legend>
    <label for="prompt">Prompt</label>
    <textarea id="prompt" data-testid="prompt" maxlength="1000" required>${first}</textarea>
    ${examples && `<div id="examples" data-testid="examples" aria-label="Prompts this model draws well">${examples}</div>`}
    <label>n <input id="n" data-testid="n" type="number" min="1" max="10" value="4"></label>
    <label>seed <input id="seed" data-testid="seed" type="number" min="0" max="4294967295" placeholder="derived"></label>
    <label>size <select id="size" data-testid="size">${sizeOptions}</select></label>
    <label>format <select id="format" data-testid="format"><option selected>png</option><option>webp</option><option>jpeg</option></select></label>
    <label>quality <input id="compression" data-testid="compression" type="number" min="0" max="100" value="85" title="output_compression (webp, jpeg)"></label>
    <button id="generate" data-testid="generate" type="submit">Generate</button>
  </fieldset>
</form>
<progress id="progress" data-testid="progress" max="1" value="0"></progress>
<span id="progress-label" data-testid="progress-label">0%</span>
· <span id="status" data-testid="status" data-state="idle">idle</span>
<h2>Images</h2>
<div id="images" data-testid="images"></div>
<h2>Variations</h2>
<div id="variations" data-testid="variations"></div>
<h2>Edits</h2>
<form id="edit-form" data-testid="edit-form">
  <fieldset id="edit-panel">
    <legend>Edit: paint the area to redraw</legend>
    <p>Press <em>edit</em> under an image, or <label>open a PNG <input id="edit-upload" data-testid="edit-upload" type="file" accept="image/png"></label></p>
    <div id="edit-stage" data-testid="edit-stage">
      <canvas id="edit-image" class="empty" width="256" height="256"></canvas>
      <canvas id="mask-overlay" data-testid="mask-canvas" width="256" height="256"></canvas>
    </div>
    <label>brush <input id="brush" data-testid="brush" type="range" min="2" max="30" value="12"></label>
    <button id="mask-clear" data-testid="mask-clear" type="button">clear mask</button>
    <br>
    <label>Prompt for the painted area <input id="edit-prompt" data-testid="edit-prompt" value="${second}" maxlength="1000" required></label>
    <button id="edit-send" data-testid="edit-send" type="submit" disabled>Edit</button>
  </fieldset>
</form>
<div id="edits" data-testid="edits"></div>
<form id="interp-form" data-testid="interp-form">
  <fieldset>
    <legend>Interpolate between two prompts</legend>
    <label>from <input id="interp-a" data-testid="interp-a" value="${first}" required></label>
    <label>to <input id="interp-b" data-testid="interp-b" value="${second}" required></label>
    <label>frames <input id="interp-frames" data-testid="interp-frames" type="number" min="2" max="10" value="5"></label>
    <button id="interpolate" data-testid="interpolate" type="submit">Interpolate</button>
    <br>
    <input id="interp-slider" data-testid="interp-slider" type="range" min="0" max="0" value="0" step="1" disabled>
    <br>
    <img id="interp-frame" data-testid="interp-frame" alt="interpolation frame" hidden>
  </fieldset>
</form>
<script type="module">${script}</script>
</body>
</html>`;
}
