// The Explain view (inlined by explorer/app/explain.py after decoder.mjs and pad_core.js): the VAE's
// story on the user's own model, all in the page, no server run while drawing.
//
// Draw on the pad (or start from a test image): the encoder gives mu and sigma of q(z|x) with every
// stroke; q(z|x) is drawn on the PCA map as its projected covariance (exact: the map is linear, so the
// projection of a Gaussian is the Gaussian of the projection), at 1 and 2 standard deviations; the cloud
// is S draws z = mu + sigma * eps, each decoded; and the ELBO is scored term by term: the reconstruction
// term -E_q[log p(x|z)] estimated by the mean over the S draws, the KL term in closed form, their sum
// -ELBO, and KL per dimension as bars. "Resample eps" draws new eps (seeded: the same seed, the same
// cloud); "Play" resamples on a timer. The encoder arrives as bytes through the loader (explain_loader.js).
//
// The decoder's distribution at z = mu: its mean, its per-pixel sigma (a Gaussian decoder) and one sample
// x ~ p(x|z). "Estimate -log p(x)" sends the image and the chosen k to the server once (the state "iwae":
// {x, seq, k}), which
// answers with the ELBO and the IWAE bound from the same k draws (data.iwae: {seq, k, elbo, iwae, seconds}).
//
// The map is PCA (exact) or a fitted one (t-SNE, UMAP: approximate). On a fitted map a code is placed as
// the server places one (projection.Fitted.place): at the mean position of its nearest codes among the
// points sent; the ellipse there is the covariance of PLACE_DRAWS placed draws, drawn dashed and marked
// approximate. On PCA the map also shows the prior's holes (explorer/prior.py: aggregate_on_plane): the
// aggregate posterior's 50% and 90% regions as contours (marching squares over the server's grid), beside
// the prior's regions of the same mass (circles: the prior projects to N(c, I)).
//
// While a stroke is drawn on a model whose full update is slower than a frame, only STROKE_DRAWS of the
// draws are decoded (the rest of the strip dims) and all of them when the pen lifts.
//
// data (JSON): {model_id, samples, start: {name, index, pixels} | null, pca: {components, mean}, iwae_ks,
// map: {key, name, exact}, points: {x, y, label, mu (flat, fitted maps only)}, aggregate: {x0, x1, y0, y1,
// grid, density (flat, row-major from y0), levels, masses, prior_outside} | null, colours, dark, big,
// iwae_k, iwae}.

const EXPLAIN_VIEWS = new WeakMap();
const PAD_SIDE = 224;  // CSS pixels of the drawing pad
const PEN = 0.085;  // stroke width as a share of the pad's side: about two pixels of a 28 x 28 image
const IMAGE_SIDE = 112, SAMPLE_SIDE = 48, MAP_W = 340, MAP_H = 284;
const INSET = 124;  // CSS pixels of the close-up of q(z|x) in the map's top-right corner
const PLAY_MS = 900;
const PLACE_DRAWS = 64;  // draws placed (not decoded) for the ellipse on a fitted map
const PLACE_NEIGHBOURS = 5;  // as projection.PLACEMENT_NEIGHBOURS
const STROKE_DRAWS = 4;  // draws decoded during a stroke when a full update is slower than FRAME_MS
const FRAME_MS = 1000 / 30;
const DIM_BAR = 72;
const CODES_RGB = "#D9822B";  // the aggregate posterior's contours

function encoderRegistry() {
  const reg = registry();
  reg.encoders ??= {};
  reg.encoderWaiting ??= {};
  return reg;
}

function whenEncoder(id) {
  const reg = encoderRegistry();
  if (reg.encoders[id]) return Promise.resolve(reg.encoders[id]);
  return new Promise((resolve) => (reg.encoderWaiting[id] ??= []).push(resolve));
}

// A seeded normal generator (mulberry32, then Box-Muller): the same seed gives the same cloud.
function normals(seed, n) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())), th = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

function uniforms(seed, n) {
  let a = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}

// A Gaussian decoder's per-pixel sigma, (C, H, W), as VAE._gaussian_params has it (clamped log-sigma).
function sigmaImage(raw, spec, c, hw) {
  const total = raw.length / hw, out = new Float32Array(c * hw);
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < c; ch++) {
      const ls = spec.scale === "shared" ? spec.log_sigma : raw[p * total + c + ch];
      out[ch * hw + p] = Math.exp(Math.max(ls, spec.min_log_sigma));
    }
  }
  return out;
}

function normalised(image) {
  const top = Math.max(...image, 1e-12);
  return image.map((v) => v / top);
}

function meanImage(raw, c, hw) {
  const total = raw.length / hw, image = new Float32Array(c * hw);
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < c; ch++) image[ch * hw + p] = 1 / (1 + Math.exp(-raw[p * total + ch]));
  }
  return image;
}

function paintPixels(canvas, image, shape) {
  const [c, h, w] = shape, hw = h * w;
  const g = canvas.getContext("2d");
  const pixels = g.createImageData(w, h);
  for (let p = 0; p < hw; p++) {
    for (let k = 0; k < 3; k++) pixels.data[4 * p + k] = Math.round(255 * image[(c === 1 ? 0 : k) * hw + p]);
    pixels.data[4 * p + 3] = 255;
  }
  g.putImageData(pixels, 0, 0);
}

function button(label, title, onClick) {
  const b = el("button", { type: "button", title, text: label });
  b.addEventListener("click", onClick);
  return b;
}

function createExplain(parentElement) {
  const root = el("div", { class: "le-pad le-explain" });
  const pad = el("canvas", { class: "le-x-pad", width: 280, height: 280, "aria-label": "drawing pad" });
  pad.style.width = pad.style.height = `${PAD_SIDE}px`;
  const tools = el("div", { class: "le-x-tools" });
  const v = { root, pad, data: null, encoder: null, decoder: null, seed: 1, encodes: 0, playing: null,
              state: null, startName: null };
  v.clear = button("Clear", "Start from a blank pad", () => { blank(v); v.startName = null; update(v); });
  v.start = button("Start from the pick", "The picked test image, to draw over", () => { startFrom(v); update(v); });
  v.resample = button("Resample ε", "New draws of eps: a new cloud, a new estimate of the reconstruction term",
                      () => { v.seed += 1; update(v); });
  v.play = button("Play", "Resample eps again and again", () => setPlaying(v, !v.playing));
  tools.append(v.clear, v.start, v.resample, v.play);
  const drawing = el("div", { class: "le-col" }, el("div", { class: "le-head", text: "x: draw here" }), pad);
  pad.title = "Draw with the mouse or a pen, or drop an image file here";
  const left = el("div", { class: "le-col" }, drawing, tools);  // the tools stay lit in every step

  v.input = el("canvas", { class: "le-image le-x-input" });
  v.recon = el("canvas", { class: "le-image le-x-recon-image" });
  v.sigmaImage = el("canvas", { class: "le-image le-x-sigma-image" });
  v.sample = el("canvas", { class: "le-image le-x-sample-image" });
  v.sigmaHead = el("div", { class: "le-head", text: "σ of p(x|z = μ)" });
  const steps = (node, ...ks) => { node.dataset.steps = ks.join(","); return node; };
  const middle = el("div", { class: "le-col le-x-mid" },
                    steps(el("div", { class: "le-col" }, el("div", { class: "le-head", text: "Input x" }), v.input), 1),
                    steps(el("div", { class: "le-col" },
                             el("div", { class: "le-head", text: "Mean of p(x|z = μ)" }), v.recon, v.sigmaHead, v.sigmaImage,
                             el("div", { class: "le-head", text: "A sample x ~ p(x|z = μ)" }), v.sample), 3));

  v.map = el("canvas", { class: "le-x-map", width: MAP_W, height: MAP_H });
  v.mapNote = el("div", { class: "le-caption" });
  const right = steps(el("div", { class: "le-col" },
                         (v.mapHead = el("div", { class: "le-head", text: "q(z|x) on the map" })), v.map, v.mapNote), 1, 2);

  v.strip = el("div", { class: "le-x-strip" });
  v.stripNote = el("div", { class: "le-caption" });
  v.terms = el("div", { class: "le-x-terms" });
  v.iwaeButton = button("Estimate −log p(x) on the server", "The importance-weighted bound (IWAE) from many draws " +
                        "of q(z|x): how far the ELBO is from the log-likelihood", () => askIwae(v));
  v.iwaeOut = el("div", { class: "le-x-iwae" });
  v.iwaeK = el("select", { class: "le-x-iwae-k", title: "k: how many draws of q(z|x) the bound averages; more, tighter" });
  const iwaeRow = el("div", { class: "le-x-iwae-row" }, v.iwaeButton, el("label", { text: "k =" }), v.iwaeK);
  v.dims = el("div", { class: "le-x-dims" });
  v.stepsButton = button("Steps", "One step of the VAE at a time, for a talk: → or Space next, ← back, Esc leaves",
                         () => setStep(v, v.step ? 0 : 1));
  tools.append(v.stepsButton);
  v.banner = el("div", { class: "le-x-banner" });
  v.banner.hidden = true;
  steps(drawing, 1);
  const top = el("div", { class: "le-top" }, left, middle, right);
  const bottom = el("div", { class: "le-top" },
                    el("div", { class: "le-col le-grow" },
                       steps(el("div", { class: "le-col" }, el("div", { class: "le-head", text: "z = μ + σ ⊙ ε, decoded" }),
                                v.strip, v.stripNote), 2, 3),
                       steps(el("div", { class: "le-col" }, v.terms, iwaeRow, v.iwaeOut), 4)),
                    steps(el("div", { class: "le-col le-grow" }, el("div", { class: "le-head", text: "Per dimension: μ, σ and KL" }),
                             v.dims), 1, 4));
  root.append(v.banner);
  root.append(top, bottom);
  parentElement.append(root);
  Object.defineProperty(root, "leExplain", { value: v });  // for tests: the numbers behind what is drawn
  drawable(v);
  return v;
}

function blank(v) {
  const g = v.pad.getContext("2d");
  g.fillStyle = v.data.dark ? "#000" : "#fff";
  g.fillRect(0, 0, v.pad.width, v.pad.height);
}

function startFrom(v) {
  const start = v.data.start;
  if (!start || !v.encoder) return blank(v);
  const shape = v.encoder.imageShape, small = el("canvas", { width: shape[2], height: shape[1] });
  paintPixels(small, start.pixels, shape);
  const g = v.pad.getContext("2d");
  g.imageSmoothingEnabled = false;  // crisp pixels: what the encoder sees, until a stroke changes it
  g.drawImage(small, 0, 0, v.pad.width, v.pad.height);
  v.startName = start.name;
}

// The encoder's input: the test image itself until the pad is drawn on, then the pad at the model's size.
function inputImage(v) {
  return v.startName !== null && v.data.start ? Float32Array.from(v.data.start.pixels) : padImage(v);
}

function drawable(v) {
  const g = v.pad.getContext("2d");
  let last = null;
  const at = (e) => {
    const box = v.pad.getBoundingClientRect();
    return [((e.clientX - box.left) * v.pad.width) / box.width, ((e.clientY - box.top) * v.pad.height) / box.height];
  };
  const line = (a, b) => {
    g.strokeStyle = v.data.dark ? "#fff" : "#000";
    g.lineWidth = PEN * v.pad.width;
    g.lineCap = g.lineJoin = "round";
    g.beginPath();
    g.moveTo(a[0], a[1]);
    g.lineTo(b[0], b[1]);
    g.stroke();
  };
  const request = onceAFrameExplain(() => update(v));
  // An image file dropped on the pad is drawn there, fitted, as a starting point to draw over. For a model
  // of light ink on dark (MNIST-like), a light photo is inverted, as the upload view prepares one.
  v.pad.addEventListener("dragover", (e) => e.preventDefault());
  v.pad.addEventListener("drop", async (e) => {
    e.preventDefault();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (!file) return;
    let picture;
    try {
      picture = await createImageBitmap(file);
    } catch {
      v.stripNote.textContent = `${file.name} is not an image this browser can read: drop a PNG or a JPEG.`;
      return;
    }
    blank(v);
    const k = Math.min(v.pad.width / picture.width, v.pad.height / picture.height);
    const w = picture.width * k, h = picture.height * k;
    g.drawImage(picture, (v.pad.width - w) / 2, (v.pad.height - h) / 2, w, h);
    const pixels = g.getImageData(0, 0, v.pad.width, v.pad.height);
    let sum = 0;
    for (let q = 0; q < pixels.data.length; q += 4) sum += pixels.data[q] + pixels.data[q + 1] + pixels.data[q + 2];
    if (v.data.dark && sum / (pixels.data.length * 0.75 * 255) > 0.5) {
      for (let q = 0; q < pixels.data.length; q += 4) {
        for (let c = 0; c < 3; c++) pixels.data[q + c] = 255 - pixels.data[q + c];
      }
      g.putImageData(pixels, 0, 0);
    }
    v.startName = null;
    v.dropped = file.name;
    request();
  });
  v.pad.addEventListener("pointerdown", (e) => {
    last = at(e);
    v.drawing = true;
    v.pad.setPointerCapture(e.pointerId);
    line(last, last);
    v.startName = null;  // drawn on: no longer the test image itself
    request();
    e.preventDefault();
  });
  v.pad.addEventListener("pointermove", (e) => {
    if (!last) return;
    v.inputAt ??= e.timeStamp;  // the oldest stroke input not drawn yet: its latency is timed (benchmarks)
    const p = at(e);
    line(last, p);
    last = p;
    request();
  });
  const up = () => {
    if (last && v.drawing && v.partial) request();  // the pen lifts: every draw again
    last = null;
    v.drawing = false;
  };
  v.pad.addEventListener("pointerup", up);
  v.pad.addEventListener("pointercancel", up);
}

function onceAFrameExplain(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fn(); });
  };
}

// The pad at the model's resolution, in torch's (C, H, W) order, pixels in [0, 1]: area-averaged.
function padImage(v) {
  const [c, h, w] = v.encoder.imageShape;
  const small = el("canvas", { width: w, height: h });
  const g = small.getContext("2d", { willReadFrequently: true });
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = "high";
  g.drawImage(v.pad, 0, 0, w, h);
  const rgba = g.getImageData(0, 0, w, h).data, hw = h * w, x = new Float32Array(c * hw);
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < c; ch++) x[ch * hw + p] = rgba[4 * p + (c === 1 ? 0 : ch)] / 255;
  }
  return x;
}

function askIwae(v) {
  if (!v.state || !v.setStateValue) return;
  v.iwaeSeq = `${v.born}-${(v.iwaeCount = (v.iwaeCount ?? 0) + 1)}`;
  v.iwaeX = v.state.x;
  v.iwaeButton.disabled = true;
  const k = Number(v.iwaeK.value);
  v.iwaeOut.textContent = `Estimating with ${k.toLocaleString()} draws on the server...`;
  v.setStateValue("iwae", { x: v.state.x, seq: v.iwaeSeq, k });
}

function showIwae(v) {
  const r = v.data.iwae;
  if (!r || r.seq !== v.iwaeSeq) return;
  v.iwaeButton.disabled = false;
  const same = v.state && v.iwaeX && v.state.x.every((p, i) => Math.abs(p - v.iwaeX[i]) < 1e-6);
  const line = (cls, label, value, note) => el("div", { class: `le-x-term ${cls}` }, el("span", { text: label }),
                                               el("b", { text: `${value.toFixed(1)} nats` }),
                                               el("span", { class: "le-caption", text: note }));
  v.iwaeOut.replaceChildren(
    line("le-x-iwae-nll", `−log p(x) ≤ −IWAE_${r.k} =`, -r.iwae, `the server, ${r.k} draws, ${r.seconds.toFixed(2)} s`),
    line("le-x-iwae-nelbo", `−ELBO from the same ${r.k} draws =`, -r.elbo, "the page's 16 draws estimate this too"),
    line("le-x-gap", "KL(q(z|x) ‖ p(z|x)) ≥", r.iwae - r.elbo,
         "the gap between the ELBO and log p(x): how far q(z|x) is from the true posterior"),
    ...(same ? [] : [el("div", { class: "le-caption", text: "For the image as it was when you asked; draw again and ask again." })]));
  v.root.dataset.iwae = r.seq;
}

// The step-by-step mode for talks: one stage of the VAE lit at a time, the rest dimmed (the layout holds
// still); the arrow keys or Space move through them, Esc leaves.
const STEPS = [
  null,
  ["1 · The encoder", "x → μ and σ of q(z|x): the ellipse on the map, μ and σ per dimension"],
  ["2 · A sample", "z = μ + σ ⊙ ε with ε ~ N(0, I): each dot is one draw (Resample ε, Play)"],
  ["3 · The decoder", "z → the parameters of p(x|z): its mean for each draw, and a sample x ~ p(x|z)"],
  ["4 · The loss", "−ELBO = reconstruction + KL, at least −log p(x); KL per dimension"],
];

function setStep(v, step) {
  v.step = step;
  v.root.classList.toggle("le-steps", step > 0);
  v.root.dataset.step = String(step);
  v.stepsButton.textContent = step ? "Leave steps" : "Steps";
  v.banner.hidden = !step;
  if (step) v.banner.replaceChildren(el("b", { text: STEPS[step][0] }), el("span", { text: STEPS[step][1] }),
                                     el("span", { class: "le-caption", text: "→ next · ← back · Esc leaves" }));
  for (const node of v.root.querySelectorAll("[data-steps]")) {
    node.classList.toggle("le-current", step > 0 && node.dataset.steps.split(",").includes(String(step)));
  }
  const lit = v.root.querySelector(".le-current");  // bring the step's first part into view (the banner sticks)
  if (lit) lit.scrollIntoView({ block: "center", behavior: "smooth" });
  if (step && !v.keys) {
    v.keys = (e) => {
      if (!v.step || !v.root.isConnected || /INPUT|TEXTAREA|SELECT/.test(e.target.tagName)) return;
      const next = { ArrowRight: 1, " ": 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 }[e.key];
      if (e.key === "Escape") setStep(v, 0);
      else if (next) setStep(v, Math.min(STEPS.length - 1, Math.max(1, v.step + next)));
      else return;
      e.preventDefault();
    };
    document.addEventListener("keydown", v.keys);
  }
}

function setPlaying(v, on) {
  clearInterval(v.playing);
  v.playing = on ? setInterval(() => { v.seed += 1; update(v); }, PLAY_MS) : null;
  v.play.textContent = on ? "Pause" : "Play";
  v.root.dataset.playing = on ? "1" : "0";
}

function project(pca, z) {
  return pca.components.map((row) => row.reduce((s, c, i) => s + c * (z[i] - pca.mean[i]), 0));
}

// The 1-sigma ellipse of a 2-D Gaussian with covariance [[a, b], [b, d]]: (centre, half-axes, angle).
function ellipseFromCov(centre, a, b, d, exact) {
  const mean = (a + d) / 2, diff = Math.sqrt(((a - d) / 2) ** 2 + b * b);
  const l1 = mean + diff, l2 = Math.max(mean - diff, 0);
  const angle = Math.abs(b) < 1e-15 && a >= d ? 0 : Math.atan2(l1 - a, b);
  return { centre, axes: [Math.sqrt(l1), Math.sqrt(l2)], angle, cov: [[a, b], [b, d]], exact };
}

// Exact on PCA: the projected Gaussian W diag(sigma^2) W^T.
function ellipseOf(pca, mu, logvar) {
  const [w1, w2] = pca.components;
  let a = 0, b = 0, d = 0;
  for (let i = 0; i < mu.length; i++) {
    const s2 = Math.exp(logvar[i]);
    a += w1[i] * w1[i] * s2;
    b += w1[i] * w2[i] * s2;
    d += w2[i] * w2[i] * s2;
  }
  return ellipseFromCov(project(pca, mu), a, b, d, true);
}

// Approximate on a fitted map: the covariance of the placed draws, about where mu is placed.
function placedEllipse(centre, placed) {
  const n = placed.length, m = [0, 1].map((k) => placed.reduce((s, p) => s + p[k], 0) / n);
  let a = 0, b = 0, d = 0;
  for (const [px, py] of placed) {
    a += (px - m[0]) ** 2 / (n - 1);
    b += ((px - m[0]) * (py - m[1])) / (n - 1);
    d += (py - m[1]) ** 2 / (n - 1);
  }
  return ellipseFromCov(centre, a, b, d, false);
}

// Where a code sits on the map: its projection on PCA; on a fitted map the mean position of its nearest
// codes among the points sent (as the server's Fitted.place does among all of them).
function place(v, z) {
  if (v.data.map.exact) return project(v.data.pca, z);
  const { x, y, mu } = v.data.points, n = x.length, d = z.length;
  const best = [], far = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (mu[i * d + k] - z[k]) ** 2;
    if (best.length < PLACE_NEIGHBOURS) {
      best.push(i);
      far.push(s);
    } else {
      let worst = 0;
      for (let j = 1; j < best.length; j++) if (far[j] > far[worst]) worst = j;
      if (s < far[worst]) { best[worst] = i; far[worst] = s; }
    }
  }
  return [best.reduce((s, i) => s + x[i], 0) / best.length, best.reduce((s, i) => s + y[i], 0) / best.length];
}

function mapFrame(v) {
  if (v.frame) return v.frame;
  const { x, y } = v.data.points;
  const lo = [Math.min(...x), Math.min(...y)], hi = [Math.max(...x), Math.max(...y)];
  const pad = 0.08, span = Math.max((hi[0] - lo[0]) / MAP_W, (hi[1] - lo[1]) / MAP_H) * (1 + 2 * pad);
  const centre = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2];
  v.frame = { toScreen: ([px, py]) => [MAP_W / 2 + (px - centre[0]) / span, MAP_H / 2 - (py - centre[1]) / span], span };
  return v.frame;
}

// The prior N(0, I) on the PCA plane: the plane's rows are orthonormal, so it projects to N(-W mean, I),
// drawn as dashed circles holding the same masses as the codes' contours (the radius r with
// 1 - exp(-r^2 / 2) = mass). Codes far outside it, or prior mass where no code lies, are the prior's holes.
function drawPrior(v, g, f) {
  const { components, mean } = v.data.pca;
  const [cx, cy] = f.toScreen(project({ components, mean }, mean.map(() => 0)));
  const masses = v.data.aggregate ? v.data.aggregate.masses : [0.5, 0.9];
  g.save();
  g.setLineDash([5, 4]);
  g.strokeStyle = "#777";
  g.lineWidth = 1.5;
  for (const m of masses) {
    g.beginPath();
    g.arc(cx, cy, Math.sqrt(-2 * Math.log1p(-m)) / f.span, 0, 2 * Math.PI);
    g.stroke();
  }
  g.restore();
}

// Line segments where a grid's values cross ``level`` (marching squares; a saddle cell is split by the
// order of its edges, which a drawn line cannot tell apart). -> [[x0, y0, x1, y1], ...] in the grid's units.
function contourSegments(values, n, x0, x1, y0, y1, level) {
  const dx = (x1 - x0) / (n - 1), dy = (y1 - y0) / (n - 1), out = [];
  const at = (r, c) => values[r * n + c];
  for (let r = 0; r + 1 < n; r++) {
    for (let c = 0; c + 1 < n; c++) {
      // The cell's corners counter-clockwise from the bottom left, and its edges between them.
      const corners = [[r, c], [r, c + 1], [r + 1, c + 1], [r + 1, c]];
      const crossings = [];
      for (let e = 0; e < 4; e++) {
        const [ra, ca] = corners[e], [rb, cb] = corners[(e + 1) % 4];
        const va = at(ra, ca), vb = at(rb, cb);
        if ((va >= level) === (vb >= level)) continue;
        const t = (level - va) / (vb - va);
        crossings.push([x0 + (ca + t * (cb - ca)) * dx, y0 + (ra + t * (rb - ra)) * dy]);
      }
      for (let k = 0; k + 1 < crossings.length; k += 2) out.push([...crossings[k], ...crossings[k + 1]]);
    }
  }
  return out;
}

// The aggregate posterior's regions on the PCA map (solid) and a legend for them and the prior's (dashed).
function drawCodes(v, g, f) {
  const agg = v.data.aggregate;
  if (!agg) return;
  v.contours ??= agg.levels.map((level) => contourSegments(agg.density, agg.grid, agg.x0, agg.x1, agg.y0, agg.y1, level));
  g.save();
  g.strokeStyle = CODES_RGB;
  v.contours.forEach((segments, k) => {
    g.lineWidth = k === 0 ? 2.5 : 1.5;
    g.beginPath();
    for (const [ax, ay, bx, by] of segments) {
      const [sx, sy] = f.toScreen([ax, ay]), [tx, ty] = f.toScreen([bx, by]);
      g.moveTo(sx, sy);
      g.lineTo(tx, ty);
    }
    g.stroke();
  });
  g.restore();
  const masses = agg.masses.map((m) => `${Math.round(100 * m)}%`).join(" and ");
  g.save();
  g.font = "12px sans-serif";
  g.fillStyle = "rgba(255, 255, 255, 0.85)";
  g.fillRect(4, MAP_H - 40, 196, 36);
  for (const [row, label, colour, dash] of [[0, "codes: q(z), the aggregate posterior", CODES_RGB, []],
                                            [1, "prior N(0, I)", "#777", [5, 4]]]) {
    const y = MAP_H - 30 + 16 * row;
    g.setLineDash(dash);
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(8, y);
    g.lineTo(28, y);
    g.stroke();
    g.fillStyle = "#333";
    g.fillText(label, 32, y + 4);
  }
  g.restore();
  v.regions = masses;
}

function drawMap(v, ellipse, cloud) {
  const g = v.map.getContext("2d"), f = mapFrame(v);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, MAP_W, MAP_H);
  if (v.data.map.exact) drawPrior(v, g, f);
  drawQ(v, g, f, ellipse, cloud, 2.5, () => { if (v.data.map.exact) drawCodes(v, g, f); });
  // A close-up where q(z|x) is small beside the data (a confident encoder): magnified about mu.
  const insetSpan = (2.5 * 2 * Math.max(ellipse.axes[0], 1e-9)) / INSET;
  v.inset = null;
  if (insetSpan < f.span / 3) {
    const left = MAP_W - INSET - 6, top = 6, [mx, my] = ellipse.centre;
    const inset = { span: insetSpan,
                    toScreen: ([px, py]) => [left + INSET / 2 + (px - mx) / insetSpan, top + INSET / 2 - (py - my) / insetSpan] };
    g.save();
    g.beginPath();
    g.rect(left, top, INSET, INSET);
    g.clip();
    g.fillStyle = "#fff";
    g.fillRect(left, top, INSET, INSET);
    drawQ(v, g, inset, ellipse, cloud, 3);
    g.restore();
    g.strokeStyle = "#555";
    g.lineWidth = 1;
    g.strokeRect(left + 0.5, top + 0.5, INSET - 1, INSET - 1);
    g.fillStyle = "#333";
    g.font = "12px sans-serif";
    g.fillText(`×${Math.round(f.span / insetSpan)}`, left + 5, top + INSET - 6);
    v.inset = [left, top, INSET, INSET];
  }
}

// The points, then ``under`` (what sits between them and q), then q(z|x), the draws and the ring at mu.
function drawQ(v, g, f, ellipse, cloud, dot, under = () => {}) {
  const { x, y, label } = v.data.points;
  g.globalAlpha = 0.35;
  for (let i = 0; i < x.length; i++) {
    const [sx, sy] = f.toScreen([x[i], y[i]]);
    g.fillStyle = v.data.colours[label[i]] ?? "#999";
    g.fillRect(sx - dot / 2, sy - dot / 2, dot, dot);
  }
  g.globalAlpha = 1;
  under();
  const [cx, cy] = f.toScreen(ellipse.centre);
  g.save();
  if (!ellipse.exact) g.setLineDash([6, 4]);  // approximate: the placed draws' spread
  for (const [k, alpha] of [[2, 0.12], [1, 0.25]]) {
    g.beginPath();
    // The screen's y points down: the angle flips.
    g.ellipse(cx, cy, Math.max(1, (k * ellipse.axes[0]) / f.span), Math.max(1, (k * ellipse.axes[1]) / f.span),
              -ellipse.angle, 0, 2 * Math.PI);
    g.fillStyle = `rgba(31, 78, 158, ${alpha})`;
    g.fill();
    g.strokeStyle = "#1F4E9E";
    g.lineWidth = 2;
    g.stroke();
  }
  g.restore();
  g.fillStyle = "#111";
  for (const point of cloud) {
    const [sx, sy] = f.toScreen(point);
    g.fillRect(sx - 2.5, sy - 2.5, 5, 5);
  }
  g.beginPath();
  g.arc(cx, cy, 6, 0, 2 * Math.PI);
  g.strokeStyle = "#111";
  g.lineWidth = 3;
  g.stroke();
}

function update(v) {
  if (!v.encoder || !v.decoder) return;
  const shape = v.encoder.imageShape, [c, h, w] = shape, hw = h * w, d = v.encoder.latentDim;
  const x = inputImage(v);
  const { mu, logvar } = v.encoder.encode(x);
  const sigma = Array.from(logvar, (lv) => Math.exp(0.5 * lv));
  v.encodes += 1;
  if (v.input.width !== w) {
    for (const canvas of [v.input, v.recon, v.sigmaImage, v.sample]) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${IMAGE_SIDE}px`;
      canvas.style.height = `${Math.round((IMAGE_SIDE * h) / w)}px`;
    }
  }
  paintPixels(v.input, x, shape);
  const rawMu = v.decoder.decodeRaw(mu), spec = v.encoder.likelihood;
  const meanMu = meanImage(rawMu, c, hw);
  paintPixels(v.recon, meanMu, shape);
  const gaussian = spec.kind === "gaussian";
  v.sigmaHead.style.display = v.sigmaImage.style.display = gaussian ? "" : "none";  // a Bernoulli has no sigma
  const sigmaMu = gaussian ? sigmaImage(rawMu, spec, c, hw) : null;
  if (gaussian) paintPixels(v.sigmaImage, normalised(sigmaMu), shape);
  const noise = normals(v.seed * 7919 + 1, c * hw), u = uniforms(v.seed * 104729 + 3, c * hw);
  const drawn = meanMu.map((m, q) => (gaussian ? Math.min(1, Math.max(0, m + sigmaMu[q] * noise[q])) : u[q] < m ? 1 : 0));
  paintPixels(v.sample, drawn, shape);
  // The cloud: S draws of z = mu + sigma * eps, each decoded and scored (K of them during a slow stroke).
  const S = v.data.samples, eps = normals(v.seed, Math.max(S, PLACE_DRAWS) * d);
  const K = v.drawing && v.slow ? Math.min(STROKE_DRAWS, S) : S, t0 = performance.now();
  const zs = [], cloud = [], recons = [];
  let reconSum = 0;
  stripCanvases(v, S, shape);
  for (let s = 0; s < K; s++) {
    const z = Array.from(mu, (m, i) => m + sigma[i] * eps[s * d + i]);
    const raw = v.decoder.decodeRaw(z);
    const nll = -logLikelihood(v.encoder.likelihood, x, raw);
    reconSum += nll;
    recons.push(nll);
    zs.push(z);
    cloud.push(place(v, z));
    const canvas = v.strip.children[s];
    canvas.title = `-log p(x|z) = ${nll.toFixed(1)} nats`;
    canvas.classList.remove("le-stale");
    paintPixels(canvas, meanImage(raw, c, hw), shape);
  }
  for (let s = K; s < S; s++) v.strip.children[s].classList.add("le-stale");  // the pen lifts: drawn again
  v.partial = K < S;
  const kl = klPerDim(mu, logvar), klSum = kl.reduce((a, b) => a + b, 0), recon = reconSum / K;
  const ellipse = v.data.map.exact ? ellipseOf(v.data.pca, mu, logvar)
    : placedEllipse(place(v, mu), Array.from({ length: PLACE_DRAWS },
                                             (_, s) => (s < K ? cloud[s] : place(v, Array.from(mu, (m, i) => m + sigma[i] * eps[s * d + i])))));
  drawMap(v, ellipse, cloud);
  v.mapNote.textContent = mapNote(v, ellipse, K);
  v.stripNote.textContent = `ε seed ${v.seed}. Each image is the decoder's mean for one draw; hover for its -log p(x|z).` +
    (K < S ? ` Drawing: ${K} of the ${S} draws while the pen moves, all of them when it lifts.` : "");
  const row = (cls, label, value, note) => el("div", { class: `le-x-term ${cls}` }, el("span", { text: label }),
                                              el("b", { text: `${value.toFixed(1)} nats` }), el("span", { class: "le-caption", text: note }));
  v.terms.replaceChildren(
    row("le-x-recon", "Reconstruction  −E_q[log p(x|z)] ≈", recon, `the mean over the ${K} draws above`),
    row("le-x-kl", "KL(q(z|x) ‖ N(0, I)) =", klSum, "closed form: ½ Σ (μ² + σ² − 1 − log σ²)"),
    row("le-x-nelbo", "−ELBO = reconstruction + KL =", recon + klSum, "an upper bound on −log p(x)"));
  drawDims(v, mu, sigma, kl);
  if (K === S) {
    v.fullMs = performance.now() - t0;
    v.slow = v.fullMs > FRAME_MS;  // then a stroke decodes fewer draws
  }
  v.state = { mu: Array.from(mu), logvar: Array.from(logvar), zs, recons, recon, kl: klSum, klPerDim: kl, seed: v.seed,
              ellipse, cloud, x: Array.from(x), start: v.startName, inset: v.inset, dropped: v.dropped ?? null,
              draws: K, fullMs: v.fullMs, map: v.data.map.key, regions: v.data.map.exact ? v.regions ?? null : null };
  v.root.dataset.encodes = String(v.encodes);
  v.root.dataset.seed = String(v.seed);
  if (v.inputAt !== undefined && v.inputAt !== null) {
    const since = v.inputAt;
    v.inputAt = null;
    // The frame that shows this update: from the pen's input to the ellipse and images on screen.
    requestAnimationFrame(() => (v.latencies ??= []).push(performance.now() - since));
  }
}

function mapNote(v, ellipse, K) {
  const agg = v.data.aggregate, dots = `the dots are ${K === v.data.samples ? "the" : K + " of the"} ${v.data.samples} draws below, the ring is μ.`;
  if (!ellipse.exact) {
    return `Approximate: ${v.data.map.name} is not linear, so q(z|x) has no exact shape on it. Each code is placed ` +
      `at the mean position of its ${PLACE_NEIGHBOURS} nearest of the ${v.data.points.x.length.toLocaleString()} codes drawn; ` +
      `the dashed ellipse is the spread of ${PLACE_DRAWS} placed draws; ${dots} The prior has no place on this map: choose PCA.`;
  }
  const holes = agg ? ` Solid: the regions holding ${v.regions} of the codes' density (the aggregate posterior, exact on ` +
    `this plane); dashed: the prior's regions of the same mass. ${Math.round(100 * agg.prior_outside)}% of the prior's ` +
    "mass here lies outside the codes' 90% region: a prior sample drawn there decodes from where no image's code lies." : "";
  return `Exact: PCA is linear, so q(z|x) projects to the Gaussian drawn here (1 and 2 standard deviations); ${dots}` + holes +
    (v.inset ? " The corner magnifies q: the encoder is sure of this image, q(z|x) is small beside the data." : "");
}

// The strip's canvases, made once per model and reused: a stroke repaints them in place.
function stripCanvases(v, S, [c, h, w]) {
  if (v.strip.children.length === S && v.strip.dataset.shape === `${c},${h},${w}`) return;
  v.strip.dataset.shape = `${c},${h},${w}`;
  v.strip.replaceChildren(...Array.from({ length: S }, () => {
    const canvas = el("canvas", { class: "le-image le-x-sample", width: w, height: h });
    canvas.style.width = `${SAMPLE_SIDE}px`;
    canvas.style.height = `${Math.round((SAMPLE_SIDE * h) / w)}px`;
    return canvas;
  }));
}

// One row per dimension, in as many columns as the width holds (pad.css): the longest bar is DIM_BAR pixels.
function drawDims(v, mu, sigma, kl) {
  const top = Math.max(...kl, 1e-9);
  v.dims.replaceChildren(...Array.from(mu, (m, i) => {
    const bar = el("span", { class: "le-x-bar" });
    bar.style.width = `${Math.round((DIM_BAR * kl[i]) / top)}px`;
    return el("div", { class: "le-x-dim" }, el("span", { class: "le-x-dim-name", text: `z${i + 1}` }),
              el("span", { text: `μ ${m.toFixed(2)}  σ ${sigma[i].toFixed(2)}` }), bar,
              el("span", { text: kl[i].toFixed(2) }));
  }));
}

export default function ({ data, parentElement, setStateValue }) {
  let v = EXPLAIN_VIEWS.get(parentElement);
  if (!v) {
    v = createExplain(parentElement);
    v.born = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
    EXPLAIN_VIEWS.set(parentElement, v);
  }
  v.setStateValue = setStateValue;
  v.iwaeButton.textContent = "Estimate −log p(x) on the server (IWAE)";
  if (!v.iwaeK.options.length) {
    v.iwaeK.replaceChildren(...data.iwae_ks.map((k) => el("option", { value: String(k), text: k.toLocaleString() })));
    v.iwaeK.value = String(data.iwae_k);
  }
  const fresh = !v.data || v.data.model_id !== data.model_id;
  const newMap = fresh || v.data.map.key !== data.map.key;
  const newStart = !v.data || JSON.stringify(v.data.start && v.data.start.name) !== JSON.stringify(data.start && data.start.name);
  v.data = data;
  v.root.classList.toggle("le-big", Boolean(data.big));
  v.mapHead.textContent = `q(z|x) on the ${data.map.name} map${data.map.exact ? "" : " (approximate)"}`;
  v.start.textContent = data.start ? `Start from #${data.start.index}` : "Start from the pick";
  v.start.title = data.start ? `Start again from ${data.start.name}, to draw over` : "No test images on this machine";
  v.start.disabled = !data.start;
  if (newMap) v.frame = v.contours = null;
  Promise.all([whenEncoder(data.model_id), whenDecoder(data.model_id)]).then(([encoder, decoder]) => {
    if (v.data !== data) return;
    v.encoder = encoder;
    v.decoder = decoder;
    if (fresh || newStart) startFrom(v);
    update(v);
    showIwae(v);
  });
  // Called when the element leaves, and possibly before a rerun: stop playing only if it really left.
  return () => setTimeout(() => { if (!parentElement.isConnected) setPlaying(v, false); }, 1000);
}
