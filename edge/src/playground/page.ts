// GET /: the playground, one self-contained HTML page (no framework). It uses the public API
// like any client: async generation followed through the job's SSE stream, a variations
// button per image, and an interpolation slider between two prompts. Stable ids and
// data-testids are part of its contract with the browser tests.

export interface PlaygroundOptions {
  sizes: string[];
  bundleId: string;
}

const styles = `
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1rem; }
  label { display: inline-block; margin: 0.25rem 1rem 0.25rem 0; }
  textarea { width: 100%; min-height: 3rem; }
  progress { width: 100%; height: 1rem; }
  #images, #variations { display: flex; flex-wrap: wrap; gap: 0.75rem; }
  figure { margin: 0; text-align: center; }
  figure img, #interp-frame { width: 192px; height: 192px; image-rendering: pixelated; border: 1px solid #ddd; }
  #status[data-state="error"] { color: #b00020; }
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
function showImages(container, data) {
  container.replaceChildren();
  data.forEach((item, i) => {
    const figure = document.createElement("figure");
    figure.dataset.testid = "image";
    const img = document.createElement("img");
    img.src = item.url; img.alt = "image " + i; img.dataset.testid = "image-" + i;
    const button = document.createElement("button");
    button.type = "button"; button.textContent = "variations";
    button.dataset.testid = "variations-" + i; button.className = "variations";
    button.addEventListener("click", () => variationsOf(item.url));
    figure.append(img, document.createElement("br"), button);
    container.append(figure);
  });
}
async function generate(event) {
  event.preventDefault();
  const body = { prompt: $("prompt").value, n: Number($("n").value), size: $("size").value, async: true };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  setStatus("submitting…", "busy"); setProgress(0); $("generate").disabled = true;
  try {
    const res = await fetch("/v1/images/generations", {
      method: "POST", headers: { ...headers(), "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (res.status !== 202) throw new Error(await failure(res));
    const job = await res.json();
    $("job-id").textContent = job.id;
    const events = await fetch("/v1/jobs/" + job.id + "/events", { headers: headers() });
    if (!events.ok) throw new Error(await failure(events));
    for await (const { event, data } of serverSentEvents(events)) {
      if (event === "progress") { setProgress(data.progress); setStatus(data.status + (data.stage ? " · " + data.stage : ""), "busy"); }
      else if (event === "result") { setProgress(1); showImages($("images"), data.result.data); setStatus("done", "done"); }
      else if (event === "error") { throw new Error(data.error.message); }
    }
  } catch (error) { setStatus(String(error.message || error), "error"); }
  finally { $("generate").disabled = false; }
}
async function variationsOf(url) {
  setStatus("variations…", "busy");
  try {
    const png = await (await fetch(url)).blob();
    const form = new FormData();
    form.append("image", new File([png], "image.png", { type: "image/png" }));
    form.append("n", $("n").value); form.append("size", $("size").value);
    const res = await fetch("/v1/images/variations", { method: "POST", headers: headers(), body: form });
    if (!res.ok) throw new Error(await failure(res));
    showImages($("variations"), (await res.json()).data);
    setStatus("done", "done");
  } catch (error) { setStatus(String(error.message || error), "error"); }
}
let frames = [];
function showFrame() { if (frames.length) $("interp-frame").src = frames[Number($("interp-slider").value)].url; }
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
$("interp-form").addEventListener("submit", interpolate);
$("interp-slider").addEventListener("input", showFrame);
`;

export function playgroundPage({ sizes, bundleId }: PlaygroundOptions): string {
  const sizeOptions = sizes
    .map((size) => `<option${size === "256x256" ? " selected" : ""}>${size}</option>`)
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
    <textarea id="prompt" data-testid="prompt" maxlength="1000" required>a red circle on a blue background</textarea>
    <label>n <input id="n" data-testid="n" type="number" min="1" max="10" value="4"></label>
    <label>seed <input id="seed" data-testid="seed" type="number" min="0" max="4294967295" placeholder="derived"></label>
    <label>size <select id="size" data-testid="size">${sizeOptions}</select></label>
    <button id="generate" data-testid="generate" type="submit">Generate</button>
  </fieldset>
</form>
<progress id="progress" data-testid="progress" max="1" value="0"></progress>
<span id="progress-label" data-testid="progress-label">0%</span>
· job <code id="job-id" data-testid="job-id"></code>
· <span id="status" data-testid="status" data-state="idle">idle</span>
<h2>Images</h2>
<div id="images" data-testid="images"></div>
<h2>Variations</h2>
<div id="variations" data-testid="variations"></div>
<form id="interp-form" data-testid="interp-form">
  <fieldset>
    <legend>Interpolate between two prompts</legend>
    <label>from <input id="interp-a" data-testid="interp-a" value="a red circle" required></label>
    <label>to <input id="interp-b" data-testid="interp-b" value="a blue square" required></label>
    <label>frames <input id="interp-frames" data-testid="interp-frames" type="number" min="2" max="10" value="5"></label>
    <button id="interpolate" data-testid="interpolate" type="submit">Interpolate</button>
    <br>
    <input id="interp-slider" data-testid="interp-slider" type="range" min="0" max="0" value="0" step="1" disabled>
    <br>
    <img id="interp-frame" data-testid="interp-frame" alt="interpolation frame">
  </fieldset>
</form>
<script type="module">${script}</script>
</body>
</html>`;
}
