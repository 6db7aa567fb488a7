// Shared by the live views (sliders + 2-D pad, map probe, path scrubber): the page-wide decoder registry,
// painting, reporting to Python, and the latent maths the views need. Inlined by explorer/app/live.py.
//
// The weights arrive in another component (the loader, mounted once per page), so the decoders live on
// window: one registry per browser tab, never shared between users.

const REPORT_GAP_MS = 250;  // at most one report (one server rerun) per this interval; never during a drag
const KEEP_TIMES = 5000;    // decode times kept for the benchmark

function registry() {
  globalThis.__latentExplorer ??= { decoders: {}, waiting: {}, frames: 0, decodeMs: [], reports: 0, loads: 0 };
  return globalThis.__latentExplorer;
}

function whenDecoder(id) {
  const reg = registry();
  if (reg.decoders[id]) return Promise.resolve(reg.decoders[id]);
  return new Promise((resolve) => (reg.waiting[id] ??= []).push(resolve));
}

// A loader's note in its element (created once): what it received, for the reader and for tests.
function loaderNote(parentElement) {
  let note = parentElement.querySelector(".le-loader");
  if (!note) {
    note = el("div", { class: "le-loader" });
    parentElement.appendChild(note);
  }
  return note;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// A canvas at the image's own size, shown large with crisp (nearest-neighbour) pixels.
function imageCanvas(shape, side) {
  const [, h, w] = shape;
  const canvas = el("canvas", { class: "le-image", width: w, height: h, "data-frames": "0" });
  canvas.style.width = `${side}px`;
  canvas.style.height = `${Math.round((side * h) / w)}px`;
  return canvas;
}

// Decode z and paint it: one new image on screen. Counts frames and decode times for tests and benchmarks.
function decodeAndPaint(decoder, z, canvas) {
  const reg = registry();
  const t0 = performance.now();
  const image = decoder.decode(z);
  const ms = performance.now() - t0;
  if (reg.decodeMs.length >= KEEP_TIMES) reg.decodeMs.shift();
  reg.decodeMs.push(ms);
  const [c, h, w] = decoder.imageShape;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(w, h);
  const hw = h * w;
  for (let p = 0; p < hw; p++) {
    for (let k = 0; k < 3; k++) pixels.data[4 * p + k] = Math.round(255 * image[(c === 1 ? 0 : k) * hw + p]);
    pixels.data[4 * p + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  reg.frames += 1;
  canvas.dataset.frames = String(Number(canvas.dataset.frames) + 1);
}

// Paint at most once per animation frame, always the newest z: input events can outpace the screen.
function painter(getDecoder, getZ, canvas) {
  let pending = false;
  return function request() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const decoder = getDecoder();
      if (decoder) decodeAndPaint(decoder, getZ(), canvas);
    });
  };
}

// A gesture's trail, for recorded tours (explorer/app/recording.py): the control's value (``value()``, an
// array of numbers) sampled as it is painted, at most TRAIL_HZ a second and TRAIL_MAX samples, each
// [ms since the gesture began, ...value]. ``take()`` adds the final value and starts a new trail.
const TRAIL_HZ = 30, TRAIL_MAX = 1800;  // a minute of a drag at 30 samples a second

function trail(value) {
  let samples = [], t0 = null, lastAt = -Infinity;
  const add = (force) => {
    const now = performance.now();
    t0 ??= now;
    if ((!force && now - lastAt < 1000 / TRAIL_HZ) || samples.length >= TRAIL_MAX) return;
    lastAt = now;
    samples.push([Math.round(now - t0), ...value().map((v) => Math.round(v * 1e4) / 1e4)]);
  };
  return {
    add: () => add(false),
    take() {
      add(true);
      const out = samples;
      samples = [];
      t0 = null;
      lastAt = -Infinity;
      return out;
    },
  };
}

// Replays a recorded gesture ({id, samples} as trail() made them) through ``apply(value)``, at its recorded
// pace, once per id; the element's dataset.replayed names the last replay finished (for tests).
function replayer(element, apply) {
  let lastId = null;
  return (replay) => {
    if (!replay || replay.id === lastId || !replay.samples || !replay.samples.length) return;
    lastId = replay.id;
    const samples = replay.samples, t0 = performance.now();
    let k = 0;
    registry().replays = (registry().replays ?? 0) + 1;
    const frame = () => {
      if (lastId !== replay.id) return;  // a newer replay took over
      const now = performance.now() - t0;
      while (k < samples.length - 1 && samples[k + 1][0] <= now) k++;
      apply(samples[k].slice(1));
      if (k < samples.length - 1) requestAnimationFrame(frame);
      else element.dataset.replayed = replay.id;
    };
    requestAnimationFrame(frame);
  };
}

// Report a value to Python (one server rerun): on release only, and no more often than REPORT_GAP_MS.
function reporter(setStateValue, name) {
  let last = 0, timer = null, latest = null;
  const send = () => {
    timer = null;
    last = performance.now();
    registry().reports += 1;
    setStateValue(name, latest);
  };
  return function report(value) {
    latest = value;
    if (timer) return;
    const wait = REPORT_GAP_MS - (performance.now() - last);
    if (wait <= 0) send();
    else timer = setTimeout(send, wait);
  };
}

const KEY_STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const KEY_STEP = 0.02, KEY_STEP_SHIFT = 0.1;  // of the element's side per key press

// Pointer dragging on an element: calls move(x, y, w, h) in the pixels of ``frame`` (the element itself,
// or what a handle moves over) while down, end() on release. ``grab``: the pointer going down moves the
// marker to it (a pad); false for a handle, which moves from where it is. onDrag(true | false) is told
// when a drag starts and ends. With where(w, h) (the marker's position in frame pixels), the arrow keys
// move it too once the element has the focus, by KEY_STEP of the frame's width and height (Shift: larger
// steps); held keys repeat, and end() runs when the key is let go.
function draggable(node, move, end, where, { frame = node, grab = true, onDrag = null } = {}) {
  let dragging = false;
  const at = (e) => {
    const box = frame.getBoundingClientRect();
    move(e.clientX - box.left, e.clientY - box.top, box.width, box.height);
  };
  node.addEventListener("pointerdown", (e) => {
    dragging = true;
    node.setPointerCapture(e.pointerId);
    if (where) node.focus({ preventScroll: true });  // the arrow keys carry on from where the pointer left it
    if (grab) at(e);
    if (onDrag) onDrag(true);
    e.preventDefault();
    if (frame !== node) e.stopPropagation();  // a handle over something draggable: it alone moves
  });
  node.addEventListener("pointermove", (e) => dragging && at(e));
  const stop = (e) => {
    if (!dragging) return;
    dragging = false;
    if (onDrag) onDrag(false);
    end();
  };
  node.addEventListener("pointerup", stop);
  node.addEventListener("pointercancel", stop);
  if (!where) return;
  let keyed = false;
  node.tabIndex = 0;
  node.addEventListener("keydown", (e) => {
    const dir = KEY_STEPS[e.key];
    if (!dir) return;
    e.preventDefault();  // the arrows move the marker, not the page
    const box = frame.getBoundingClientRect();
    const [px, py] = where(box.width, box.height);
    const step = e.shiftKey ? KEY_STEP_SHIFT : KEY_STEP;
    move(px + dir[0] * step * box.width, py + dir[1] * step * box.height, box.width, box.height);
    keyed = true;
  });
  node.addEventListener("keyup", (e) => {
    if (KEY_STEPS[e.key] && keyed) {
      keyed = false;
      end();
    }
  });
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const fmt = (v) => (Math.abs(v) < 1e-9 ? 0 : v).toFixed(2);

// Map a latent point onto the map's PCA plane, and a plane point back (the plane through the data mean).
function pcaProject(plane, z) {
  return plane.components.map((row) => row.reduce((s, c, i) => s + c * (z[i] - plane.mean[i]), 0));
}

function pcaInverse(plane, xy) {
  return plane.mean.map((m, i) => m + xy[0] * plane.components[0][i] + xy[1] * plane.components[1][i]);
}

// The interpolation path at t in [0, 1], exactly as explorer.latent's lerp and slerp compute it.
function pathPoint(a, b, t, mode) {
  const lerp = () => a.map((v, i) => (1 - t) * v + t * b[i]);
  if (mode !== "spherical") return lerp();
  const na = Math.hypot(...a), nb = Math.hypot(...b);
  if (na === 0 || nb === 0) return lerp();
  const dot = clamp(a.reduce((s, v, i) => s + (v / na) * (b[i] / nb), 0), -1, 1);
  const omega = Math.acos(dot);
  if (Math.sin(omega) < 1e-6) return lerp();
  const norm = (1 - t) * na + t * nb;
  const sa = Math.sin((1 - t) * omega) / Math.sin(omega), sb = Math.sin(t * omega) / Math.sin(omega);
  return a.map((v, i) => (sa * (v / na) + sb * (b[i] / nb)) * norm);
}

// Scatter of the encoded test set on a plane, drawn once to an offscreen canvas (redrawn per frame as a picture).
function scatterLayer(points, colours, extent, width, height, dpr, radius, alpha) {
  const layer = document.createElement("canvas");
  layer.width = width * dpr;
  layer.height = height * dpr;
  const ctx = layer.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.globalAlpha = alpha;
  const [x0, x1, y0, y1] = extent;
  for (let i = 0; i < points.x.length; i++) {
    ctx.fillStyle = colours[points.label[i]] ?? "#7F7F7F";
    const px = ((points.x[i] - x0) / (x1 - x0)) * width, py = ((y1 - points.y[i]) / (y1 - y0)) * height;
    ctx.beginPath();
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
    ctx.fill();
  }
  return layer;
}

// A crosshair ring with a white halo, so it stands out on dense, coloured points.
function drawMarker(ctx, px, py, colour) {
  const shape = () => {
    ctx.beginPath();
    ctx.arc(px, py, 13, 0, 2 * Math.PI);
    ctx.moveTo(px - 21, py); ctx.lineTo(px - 6, py); ctx.moveTo(px + 6, py); ctx.lineTo(px + 21, py);
    ctx.moveTo(px, py - 21); ctx.lineTo(px, py - 6); ctx.moveTo(px, py + 6); ctx.lineTo(px, py + 21);
  };
  ctx.lineCap = "round";
  ctx.lineWidth = 7;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
  shape();
  ctx.stroke();
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = colour;
  shape();
  ctx.stroke();
}
