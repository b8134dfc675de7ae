// The Try-it page: the reader's photo enhanced in the browser by onnxruntime-web (WebGPU on a hardware adapter, else
// WebAssembly, on every core when the page is cross-origin isolated) running DCE-Net's ONNX graphs. Nothing leaves the page: no request carries the photo.
//   exact: models/dcenet.onnx (network and curves) tile by tile, each tile with the network's 7-pixel margin.
//   fast:  the photo shrunk here (antialiased bilinear, as sclle_nb.infer.downsample), models/dcenet_maps.onnx gives
//          its raw curve maps, and they are stretched (bilinear: the width, then the height) and the curves applied
//          here, band by band, as sclle_nb's fast engine does.
"use strict";
const MAX_MP = {exact: 24, fast: 36};  // megapixels: what the page takes in each mode (fast: phone photos of 12-24 MP)
const TILE = 512, RADIUS = 7;          // exact mode: 512-pixel tiles with a 7-pixel margin (the network's receptive field)
const MODELS = {exact: "models/dcenet.onnx", fast: "models/dcenet_maps.onnx"};
const SCALE = +document.getElementById("content").dataset.fastScale;   // fast mode: the copy's fraction of the size
const $ = (id) => document.getElementById(id);
const opts = new URLSearchParams(location.search);   // ?threads=N: a thread count (for measuring); ?ep=webgpu

const cores = navigator.hardwareConcurrency || 1;
const sessions = {};
let backend = "wasm";   // or "webgpu"

function loadScript(src) {
  return new Promise((ok, fail) => { const s = document.createElement("script"); s.src = src; s.onload = ok; s.onerror = () => fail(new Error(`${src} did not load`)); document.head.appendChild(s); });
}
async function gpuAdapter() {
  // A WebGPU adapter worth using: a hardware one, or any when the address asks for it (?ep=webgpu; ?ep=wasm: never).
  if (opts.get("ep") === "wasm" || !navigator.gpu) return null;
  try {
    const a = await navigator.gpu.requestAdapter();
    return a && (opts.get("ep") === "webgpu" || !(a.isFallbackAdapter || (a.info && a.info.isFallbackAdapter))) ? a : null;
  } catch (e) { return null; }
}
const ready = (async () => {
  backend = (await gpuAdapter()) ? "webgpu" : "wasm";
  await loadScript(`vendor/ort/ort.${backend}.min.js`);
  ort.env.wasm.wasmPaths = new URL("vendor/ort/", location.href).href;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, Math.min(+(opts.get("threads") || cores), cores, 16)) : 1;
  ort.env.wasm.proxy = backend === "wasm" && opts.get("proxy") !== "0";   // inference in a worker: the page stays responsive
})();
function session(mode) {
  if (!sessions[mode]) sessions[mode] = ready.then(() => ort.InferenceSession.create(MODELS[mode],
    {executionProviders: backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"], graphOptimizationLevel: "all"}));
  return sessions[mode];
}

let photo = null;   // {name, width, height, data: RGBA Uint8ClampedArray or Uint16Array, max: 255 or 65535}
let job = null;     // the run in progress: {cancelled, done}
window.sclleProgress = [];

class Cancelled extends Error {}
function say(text) { $("status").textContent = text; }
function complain(text) { const m = $("message"); m.textContent = text; m.hidden = !text; }
function progress(value) {   // a fraction, or null for "working, no fraction known"; undefined hides the bar
  const p = $("progress"); p.hidden = value === undefined;
  if (value !== undefined) window.sclleProgress.push(value);   // what was shown, for the page's tests
  if (value === null) p.removeAttribute("value"); else if (value !== undefined) p.value = value;
}
const nextFrame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));   // the page draws the progress, takes a click
const mpOf = (w, h) => w * h / 1e6;
const tooBig = (name, mp, mode) =>
  `${name} is ${mp.toFixed(1)} megapixels: the ${mode} mode takes photos up to ${MAX_MP[mode]} MP` +
  (mode === "exact" && mp <= MAX_MP.fast ? `; choose the fast mode (up to ${MAX_MP.fast} MP)` : "; for larger photos, run sclle enhance on your computer");

// ---- reading the photo
async function readPhoto(file) {
  // The file's pixels (RGBA), or an Error whose message says why not. 16-bit PNGs are decoded at 16 bits by fast-png.
  const head = new Uint8Array(await file.slice(0, 26).arrayBuffer());
  const png = head.length >= 26 && [137, 80, 78, 71, 13, 10, 26, 10].every((b, i) => head[i] === b);
  if (!file.type.startsWith("image/") && !png)
    throw new Error(`${file.name} is not an image (${file.type || "unknown type"}): choose a photo (PNG, JPEG, WebP, ...)`);
  if (png && head[24] === 16) return read16(file);
  let bmp;
  try { bmp = await createImageBitmap(file, {colorSpaceConversion: "none", premultiplyAlpha: "none"}); }
  catch (e) { throw new Error(`${file.name} could not be read as an image: the file is damaged or in a format this browser does not decode`); }
  const mp = mpOf(bmp.width, bmp.height);
  if (mp > Math.max(MAX_MP.exact, MAX_MP.fast)) { bmp.close(); throw new Error(tooBig(file.name, mp, "fast")); }
  const c = $("before"); c.width = bmp.width; c.height = bmp.height;
  const ctx = c.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(bmp, 0, 0); bmp.close();
  return {name: file.name, width: c.width, height: c.height, data: ctx.getImageData(0, 0, c.width, c.height).data, max: 255};
}

async function read16(file) {
  const {decode} = await import("fast-png");
  let png;
  try { png = decode(new Uint8Array(await file.arrayBuffer())); }
  catch (e) { throw new Error(`${file.name} could not be read as a 16-bit PNG: the file is damaged (${e.message})`); }
  const {width: w, height: h, channels: ch, data: src} = png, n = w * h;
  if (mpOf(w, h) > Math.max(MAX_MP.exact, MAX_MP.fast)) throw new Error(tooBig(file.name, mpOf(w, h), "fast"));
  const data = new Uint16Array(4 * n), view = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    const g = ch < 3;   // grey (and grey + alpha): the one value in all three channels
    const r = src[i * ch], gg = g ? r : src[i * ch + 1], b = g ? r : src[i * ch + 2];
    const a = ch === 2 ? src[i * 2 + 1] : ch === 4 ? src[i * 4 + 3] : 65535;
    data[4 * i] = r; data[4 * i + 1] = gg; data[4 * i + 2] = b; data[4 * i + 3] = a;
    view[4 * i] = r / 257; view[4 * i + 1] = gg / 257; view[4 * i + 2] = b / 257; view[4 * i + 3] = a / 257;
  }
  const c = $("before"); c.width = w; c.height = h;
  c.getContext("2d").putImageData(new ImageData(view, w, h), 0, 0);
  return {name: file.name, width: w, height: h, data, max: 65535};
}

// ---- the two modes
function toTensor(p, r0, r1, c0, c1) {
  // Rows r0..r1-1, columns c0..c1-1 of the photo as a (1,3,h,w) float tensor in [0,1].
  const h = r1 - r0, w = c1 - c0, n = h * w, x = new Float32Array(3 * n), d = p.data, s = 1 / p.max;
  for (let r = 0; r < h; r++) {
    let i = 4 * ((r0 + r) * p.width + c0), j = r * w;
    for (let c = 0; c < w; c++, i += 4, j++) { x[j] = d[i] * s; x[n + j] = d[i + 1] * s; x[2 * n + j] = d[i + 2] * s; }
  }
  return new ort.Tensor("float32", x, [1, 3, h, w]);
}

function store(out, i, v, p) {
  // One enhanced pixel's value v (0..1) at out.view[i] (8 bits, shown) and out.full[i] (16 bits, when the photo has them).
  out.view[i] = Math.round(v * 255);
  if (out.full) out.full[i] = Math.round(v * 65535);
}

function paste(out, y, h, w, p, r0, c0, dr, dc, th, tw) {
  // Write rows dr..dr+th-1, columns dc..dc+tw-1 of the output y (1,3,h,w) into the RGBA arrays at (r0, c0).
  const n = h * w, a = p.max === 255 ? 1 : 1 / 257;
  for (let r = 0; r < th; r++)
    for (let c = 0; c < tw; c++) {
      const j = (dr + r) * w + dc + c, i = 4 * ((r0 + r) * p.width + c0 + c);
      store(out, i, y[j]); store(out, i + 1, y[n + j]); store(out, i + 2, y[2 * n + j]);
      out.view[i + 3] = p.data[i + 3] * a; if (out.full) out.full[i + 3] = p.data[i + 3];   // alpha kept as it was
    }
}

async function enhanceExact(p, sess, out, run) {
  // Tile by tile with a RADIUS margin: each tile's centre is exactly what the whole photo would give.
  const tiles = [];
  for (let r0 = 0; r0 < p.height; r0 += TILE) for (let c0 = 0; c0 < p.width; c0 += TILE) tiles.push([r0, c0]);
  progress(0); say(`Enhancing (exact)… tile 1 of ${tiles.length}`); await nextFrame();
  for (const [k, [r0, c0]] of tiles.entries()) {
    if (run.cancelled) throw new Cancelled();
    const r1 = Math.min(r0 + TILE, p.height), c1 = Math.min(c0 + TILE, p.width);
    const a0 = Math.max(r0 - RADIUS, 0), b0 = Math.max(c0 - RADIUS, 0);
    const a1 = Math.min(r1 + RADIUS, p.height), b1 = Math.min(c1 + RADIUS, p.width);
    const res = await sess.run({image: toTensor(p, a0, a1, b0, b1)});
    paste(out, res.enhanced.data, a1 - a0, b1 - b0, p, r0, c0, r0 - a0, c0 - b0, r1 - r0, c1 - c0);
    progress((k + 1) / tiles.length); say(`Enhancing (exact)… tile ${Math.min(k + 2, tiles.length)} of ${tiles.length}`);
    await nextFrame();
  }
}

function lerpIndex(nIn, nOut, f32) {
  // Bilinear (align_corners=false) resampling nIn -> nOut: source indices i0, i1 and the weight of i1 (as the ONNX graph).
  const i0 = new Int32Array(nOut), i1 = new Int32Array(nOut), wt = new Float32Array(nOut);
  const q = f32 ? Math.fround : (v) => v, ratio = q(q(nIn) / q(nOut));
  for (let o = 0; o < nOut; o++) {
    const src = Math.max(q(q(q(o + 0.5) * ratio) - 0.5), 0), a = Math.min(Math.floor(src), nIn - 1);
    i0[o] = a; i1[o] = Math.min(a + 1, nIn - 1); wt[o] = src - a;
  }
  return {i0, i1, wt};
}

function roundHalfEven(v) { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2) ? f + 1 : f; }

function aaWeights(nIn, nOut) {
  // Antialiased bilinear resampling nIn -> nOut (align_corners=false, as PyTorch's antialias=True): for each output,
  // its first source index, its number of taps and their weights (a triangle as wide as the scale, normalised).
  const s = nIn / nOut, sup = Math.max(s, 1), K = Math.ceil(2 * sup) + 2;
  const first = new Int32Array(nOut), n = new Int32Array(nOut), w = new Float64Array(nOut * K);
  for (let o = 0; o < nOut; o++) {
    const c = s * (o + 0.5), lo = Math.max(0, Math.floor(c - sup - 0.5)), hi = Math.min(nIn - 1, Math.ceil(c + sup - 0.5));
    let sum = 0;
    for (let j = lo; j <= hi; j++) { const v = Math.max(0, 1 - Math.abs((j - c + 0.5) / sup)); w[o * K + j - lo] = v; sum += v; }
    for (let j = lo; j <= hi; j++) w[o * K + j - lo] /= sum;
    first[o] = lo; n[o] = hi - lo + 1;
  }
  return {first, n, w, K};
}

function downsample(p, h, w) {
  // The photo shrunk to (1,3,h,w) in [0,1]: the height first, then the width (as the ONNX graph's two products).
  const H = p.height, W = p.width, d = p.data, s = 1 / p.max, ah = aaWeights(H, h), aw = aaWeights(W, w);
  const tmp = new Float32Array(3 * h * W), x = new Float32Array(3 * h * w);
  for (let o = 0; o < h; o++)
    for (let t = 0; t < ah.n[o]; t++) {
      const a = ah.w[o * ah.K + t] * s, row = 4 * (ah.first[o] + t) * W, r0 = o * W, r1 = (h + o) * W, r2 = (2 * h + o) * W;
      for (let c = 0, i = row; c < W; c++, i += 4) { tmp[r0 + c] += a * d[i]; tmp[r1 + c] += a * d[i + 1]; tmp[r2 + c] += a * d[i + 2]; }
    }
  for (let ch = 0; ch < 3 * h; ch++)
    for (let o = 0; o < w; o++) {
      let v = 0; const base = o * aw.K, src = ch * W + aw.first[o];
      for (let t = 0; t < aw.n[o]; t++) v += aw.w[base + t] * tmp[src + t];
      x[ch * w + o] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  return new ort.Tensor("float32", x, [1, 3, h, w]);
}

async function enhanceFast(p, sess, out, run) {
  // The network on a small copy (one run), then its 24 raw maps r = -alpha stretched and the 8 curves applied here,
  // a band of rows at a time: full-resolution maps never exist, so 24 MP photos fit in memory.
  progress(null); say("Enhancing (fast)… curve maps on a small copy"); await nextFrame();
  const t0 = performance.now();
  const x = downsample(p, Math.max(1, roundHalfEven(p.height * SCALE)), Math.max(1, roundHalfEven(p.width * SCALE))), t1 = performance.now();
  const res = await sess.run({image: x});
  run.parts = {shrink_ms: t1 - t0, maps_ms: performance.now() - t1};
  if (run.cancelled) throw new Cancelled();
  const m = res.maps, [, C, h, w] = m.dims, r = m.data, W = p.width, H = p.height, K = C / 3;
  const cols = lerpIndex(w, W, true), rows = lerpIndex(h, H, false);
  const stretchRow = (i, dst) => {   // row i of the small maps, stretched along the width: (C, W)
    for (let k = 0; k < C; k++) {
      const base = (k * h + i) * w, o = k * W;
      for (let c = 0; c < W; c++) { const a = r[base + cols.i0[c]], b = r[base + cols.i1[c]]; dst[o + c] = a + cols.wt[c] * (b - a); }
    }
  };
  let ia = -1, ib = -1, A = new Float32Array(C * W), B = new Float32Array(C * W);
  const d = p.data, s = 1 / p.max, view = out.view, full = out.full, am = p.max === 255 ? 1 : 1 / 257;
  let t = performance.now();
  for (let y = 0; y < H; y++) {
    const i0 = rows.i0[y], i1 = rows.i1[y], wt = rows.wt[y];
    if (i0 !== ia) { if (i0 === ib) { [A, B] = [B, A]; ia = ib; ib = -1; } else { stretchRow(i0, A); ia = i0; } }
    if (i1 !== ib) { if (i1 === ia) { B.set(A); } else stretchRow(i1, B); ib = i1; }
    for (let x = 0; x < W; x++) {
      const i = 4 * (y * W + x);
      for (let ch = 0; ch < 3; ch++) {
        let v = d[i + ch] * s;
        for (let k = 0, o = ch * W + x; k < K; k++, o += 3 * W) { const a = A[o], rr = a + wt * (B[o] - a); v = v + rr * (v * v - v); }
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        view[i + ch] = Math.round(v * 255); if (full) full[i + ch] = Math.round(v * 65535);
      }
      view[i + 3] = d[i + 3] * am; if (full) full[i + 3] = d[i + 3];
    }
    if (performance.now() - t > 100) {   // about ten times a second: show progress, take a click
      progress((y + 1) / H); say(`Enhancing (fast)… row ${y + 1} of ${H}`);
      await nextFrame(); t = performance.now();
      if (run.cancelled) throw new Cancelled();
    }
  }
  progress(1);
  run.parts.curves_ms = performance.now() - t0 - run.parts.shrink_ms - run.parts.maps_ms;
}

// ---- one run: read the mode, enhance, show, offer the download
async function enhance(run) {
  const mode = document.querySelector("input[name=mode]:checked").value;
  const p = photo, mp = mpOf(p.width, p.height);
  if (mp > MAX_MP[mode]) { complain(tooBig(p.name, mp, mode)); say(""); return; }
  complain(""); $("download").hidden = true; window.sclleProgress = [];
  $("cancel").hidden = false;
  try {
    progress(null); say("Loading the model…");
    const sess = await session(mode);
    const n = p.width * p.height * 4, out = {view: new Uint8ClampedArray(n), full: p.max === 65535 ? new Uint16Array(n) : null};
    const t0 = performance.now();
    await (mode === "fast" ? enhanceFast : enhanceExact)(p, sess, out, run);
    const ms = performance.now() - t0;
    const c = $("after"); c.width = p.width; c.height = p.height;
    c.getContext("2d").putImageData(new ImageData(out.view, p.width, p.height), 0, 0);
    $("mode-shown").textContent = mode; $("result").hidden = false;
    const threads = backend === "webgpu" ? "webgpu" : ort.env.wasm.numThreads;
    window.sclleLast = {mode, ms, width: p.width, height: p.height, name: p.name, bits: p.max === 65535 ? 16 : 8, threads, ...(run.parts || {})};
    say(`Done: ${p.width}×${p.height} (${mp.toFixed(2)} MP) in ${(ms / 1000).toFixed(1)} s, ${mode} mode.`);
    offer(p, out, c);
  } catch (e) {
    if (e instanceof Cancelled) { say("Cancelled."); complain(""); }
    else { complain(`Enhancing failed: ${e.message || e}`); say(""); }
  } finally { progress(undefined); $("cancel").hidden = true; }
}

function offer(p, out, canvas) {
  // The download link: the canvas as an 8-bit PNG, or (16-bit input) a 16-bit PNG encoded by fast-png when clicked.
  const a = $("download"), base = p.name.replace(/\.[^.]*$/, "") + "_enhanced.png";
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  a.removeAttribute("href"); a.onclick = null; a.download = base;
  if (!out.full) {
    canvas.toBlob((blob) => { a.href = URL.createObjectURL(blob); a.hidden = false; }, "image/png");
    return;
  }
  a.textContent = "Download the enhanced photo (16-bit PNG)"; a.href = "#"; a.hidden = false;
  a.onclick = async (e) => {
    if (a.href.startsWith("blob:")) return;
    e.preventDefault(); say("Writing the 16-bit PNG…"); await nextFrame();
    const {encode} = await import("fast-png");
    const bytes = encode({width: p.width, height: p.height, data: out.full, depth: 16, channels: 4});
    a.href = URL.createObjectURL(new Blob([bytes], {type: "image/png"})); a.onclick = null; say("");
    a.click();
  };
}

async function start() {
  // Cancel the run in progress (if any), wait for it to stop, then enhance the current photo in the chosen mode.
  if (job) { job.cancelled = true; await job.done; }
  if (!photo) return;
  const run = {cancelled: false};
  run.done = enhance(run);
  job = run;
  await run.done;
  if (job === run) job = null;
}

async function choose(file) {
  if (!file) return;
  if (job) { job.cancelled = true; await job.done; }
  complain(""); $("result").hidden = true; $("download").hidden = true;
  try { photo = await readPhoto(file); }
  catch (e) { photo = null; complain(e.message); say(""); return; }
  await start();
}

$("file").addEventListener("change", (e) => { choose(e.target.files[0]); e.target.value = ""; });
document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", () => { if (photo) start(); }));
$("cancel").addEventListener("click", () => { if (job) { job.cancelled = true; say("Cancelling…"); } });
window.sclleBusy = () => job !== null;   // for the page's tests and benchmark
const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => choose(e.dataTransfer.files[0]));

ready.then(() => {
  const th = ort.env.wasm.numThreads;
  $("engine").textContent = backend === "webgpu" ? "The network runs on this device's GPU (WebGPU)."
    : self.crossOriginIsolated ? `It runs on ${th} WebAssembly thread${th > 1 ? "s" : ""} (this device has ${cores} core${cores > 1 ? "s" : ""}).`
    : "It runs on one WebAssembly thread: this page is not cross-origin isolated here.";
});
session("exact").then(() => { if (!job) say("Ready: choose a photo."); window.sclleReady = true; },
                      (e) => { complain(`The model could not be loaded: ${e.message || e}`); say(""); });
