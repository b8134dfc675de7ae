// The Try-it page: the reader's photo enhanced in the browser by onnxruntime-web (WebAssembly) running DCE-Net's ONNX
// graph (models/dcenet.onnx, exported by `sclle export`). Nothing leaves the page: no request carries the photo.
"use strict";
const MAX_MP = {exact: 16, fast: 8};  // megapixels: the exact mode works in tiles, the fast mode on the whole photo
const TILE = 512, RADIUS = 7;         // exact mode: 512-pixel tiles with a 7-pixel margin (the network's receptive field)
const MODELS = {exact: "models/dcenet.onnx", fast: "models/dcenet_fast.onnx"};
const $ = (id) => document.getElementById(id);

ort.env.wasm.wasmPaths = new URL("vendor/ort/", location.href).href;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
const sessions = {};
function session(mode) {
  if (!sessions[mode]) sessions[mode] = ort.InferenceSession.create(MODELS[mode], {executionProviders: ["wasm"]});
  return sessions[mode];
}

let photo = null;   // {name, width, height, rgba: Uint8ClampedArray}
let busy = false;
window.sclleProgress = [];

function say(text) { $("status").textContent = text; }
function complain(text) { const m = $("message"); m.textContent = text; m.hidden = !text; }
function progress(value) {   // a fraction, or null for "working, no fraction known"; undefined hides the bar
  const p = $("progress"); p.hidden = value === undefined;
  if (value !== undefined) window.sclleProgress.push(value);   // what was shown, for the page's tests
  if (value === null) p.removeAttribute("value"); else if (value !== undefined) p.value = value;
}
const nextFrame = () => new Promise((r) => setTimeout(r, 0));   // let the page draw the progress

async function readPhoto(file) {
  // The file's pixels (RGBA), or an Error whose message says why not.
  if (!file.type.startsWith("image/"))
    throw new Error(`${file.name} is not an image (${file.type || "unknown type"}): choose a photo (PNG, JPEG, WebP, ...)`);
  let bmp;
  try { bmp = await createImageBitmap(file, {colorSpaceConversion: "none", premultiplyAlpha: "none"}); }
  catch (e) { throw new Error(`${file.name} could not be read as an image: the file is damaged or in a format this browser does not decode`); }
  const mp = bmp.width * bmp.height / 1e6;
  if (mp > MAX_MP.exact) {
    bmp.close();
    throw new Error(`${file.name} is ${mp.toFixed(1)} megapixels: this page enhances photos up to ${MAX_MP.exact} MP; use \`sclle enhance\` for larger ones`);
  }
  const c = $("before"); c.width = bmp.width; c.height = bmp.height;
  const ctx = c.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(bmp, 0, 0); bmp.close();
  return {name: file.name, width: c.width, height: c.height, rgba: ctx.getImageData(0, 0, c.width, c.height).data};
}

function toTensor(p, r0, r1, c0, c1) {
  // Rows r0..r1-1, columns c0..c1-1 of the photo as a (1,3,h,w) float tensor in [0,1].
  const h = r1 - r0, w = c1 - c0, n = h * w, x = new Float32Array(3 * n);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const i = 4 * ((r0 + r) * p.width + c0 + c), j = r * w + c;
      x[j] = p.rgba[i] / 255; x[n + j] = p.rgba[i + 1] / 255; x[2 * n + j] = p.rgba[i + 2] / 255;
    }
  return new ort.Tensor("float32", x, [1, 3, h, w]);
}

function paste(out, y, h, w, p, r0, c0, dr, dc, th, tw) {
  // Write rows dr..dr+th-1, columns dc..dc+tw-1 of the output y (1,3,h,w) into the RGBA array at (r0, c0).
  const n = h * w;
  for (let r = 0; r < th; r++)
    for (let c = 0; c < tw; c++) {
      const j = (dr + r) * w + dc + c, i = 4 * ((r0 + r) * p.width + c0 + c);
      out[i] = Math.round(y[j] * 255); out[i + 1] = Math.round(y[n + j] * 255); out[i + 2] = Math.round(y[2 * n + j] * 255);
      out[i + 3] = p.rgba[i + 3];   // alpha kept as it was
    }
}

async function enhanceExact(p, sess, out) {
  // Tile by tile with a RADIUS margin: each tile's centre is exactly what the whole photo would give.
  const tiles = [];
  for (let r0 = 0; r0 < p.height; r0 += TILE) for (let c0 = 0; c0 < p.width; c0 += TILE) tiles.push([r0, c0]);
  for (const [k, [r0, c0]] of tiles.entries()) {
    const r1 = Math.min(r0 + TILE, p.height), c1 = Math.min(c0 + TILE, p.width);
    const a0 = Math.max(r0 - RADIUS, 0), b0 = Math.max(c0 - RADIUS, 0);
    const a1 = Math.min(r1 + RADIUS, p.height), b1 = Math.min(c1 + RADIUS, p.width);
    const res = await sess.run({image: toTensor(p, a0, a1, b0, b1)});
    paste(out, res.enhanced.data, a1 - a0, b1 - b0, p, r0, c0, r0 - a0, c0 - b0, r1 - r0, c1 - c0);
    progress((k + 1) / tiles.length); say(`Enhancing (exact)… tile ${k + 1} of ${tiles.length}`);
    await nextFrame();
  }
}

async function enhanceFast(p, sess, out) {
  // The whole photo in one run (the small copy the maps are estimated on depends on the whole photo).
  progress(null); say("Enhancing (fast)…"); await nextFrame();
  const res = await sess.run({image: toTensor(p, 0, p.height, 0, p.width)});
  paste(out, res.enhanced.data, p.height, p.width, p, 0, 0, 0, 0, p.height, p.width);
}

async function enhance() {
  if (!photo || busy) return;
  const mode = document.querySelector("input[name=mode]:checked").value;
  const mp = photo.width * photo.height / 1e6;
  if (mp > MAX_MP[mode]) {
    complain(`${photo.name} is ${mp.toFixed(1)} megapixels: the fast mode takes photos up to ${MAX_MP.fast} MP; choose the exact mode (up to ${MAX_MP.exact} MP)`);
    return;
  }
  busy = true; complain(""); $("download").hidden = true; window.sclleProgress = [];
  document.querySelectorAll("input").forEach((i) => i.disabled = true);
  try {
    progress(0); say("Loading the model…");
    const sess = await session(mode);
    const out = new Uint8ClampedArray(photo.rgba.length), t0 = performance.now();
    await (mode === "fast" ? enhanceFast : enhanceExact)(photo, sess, out);
    const ms = performance.now() - t0;
    const c = $("after"); c.width = photo.width; c.height = photo.height;
    c.getContext("2d").putImageData(new ImageData(out, photo.width, photo.height), 0, 0);
    $("mode-shown").textContent = mode; $("result").hidden = false;
    window.sclleLast = {mode, ms, width: photo.width, height: photo.height, name: photo.name};
    say(`Done: ${photo.width}×${photo.height} (${mp.toFixed(2)} MP) in ${(ms / 1000).toFixed(1)} s, ${mode} mode.`);
    const a = $("download");
    c.toBlob((blob) => {
      if (a.href) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(blob); a.download = photo.name.replace(/\.[^.]*$/, "") + "_enhanced.png"; a.hidden = false;
    }, "image/png");
  } catch (e) {
    complain(`Enhancing failed: ${e.message || e}`); say("");
  } finally {
    progress(undefined); busy = false;
    document.querySelectorAll("input").forEach((i) => i.disabled = false);
  }
}

async function choose(file) {
  if (!file || busy) return;
  complain(""); $("result").hidden = true; $("download").hidden = true;
  try { photo = await readPhoto(file); }
  catch (e) { photo = null; complain(e.message); say(""); return; }
  await enhance();
}

$("file").addEventListener("change", (e) => { choose(e.target.files[0]); e.target.value = ""; });
document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", enhance));
const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));

session("exact").then(() => { if (!busy) say("Ready: choose a photo."); window.sclleReady = true; },
                      (e) => { complain(`The model could not be loaded: ${e.message || e}`); say(""); });
