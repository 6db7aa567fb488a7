// The standalone page: reads the embedded data, lays out the map and the controls, and keeps one z.
// Every change of z (slider, probe, pick, scrubber, tour) goes through app.setZ: the sliders follow, the map's
// probe moves, and the picture is decoded at most once per animation frame (pad_core.js's painter).
// With #selftest in the URL it drags the first slider itself and paints a PASS/FAIL banner (for Firefox).

const IMAGE_SIDE = 264;          // CSS pixels of the decoded picture: large on a 1280x720 projector
const SELFTEST_FRAMES = 120;     // animation frames of the self-test's drag (about 2 s at 60 Hz)
const SELFTEST_MIN_CHANGES = 30; // the picture must change at least this many times a second
const SELFTEST_TOLERANCE = 2;    // levels of 255 between the page's picture and torch's at the end of the drag

const READOUTS = { slider: "z from the sliders", probe: "z from the probe on the map", path: "z on the path from A to B",
                   tour: "z from the tour", start: "z = the mean code of the test set" };

function bytesOf(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// FNV-1a over a canvas's RGBA pixels: a cheap fingerprint, to count frames where the picture changed.
function canvasHash(canvas) {
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0x811c9dc5;
  for (let i = 0; i < px.length; i++) h = Math.imul(h ^ px[i], 0x01000193);
  return h >>> 0;
}

function startPage() {
  const data = JSON.parse(document.getElementById("le-data").textContent);
  const D = data.latent_dim;
  const xy = new Float32Array(bytesOf(data.xy).buffer);
  const points = { x: new Float32Array(data.n), y: new Float32Array(data.n), label: bytesOf(data.category) };
  for (let i = 0; i < data.n; i++) { points.x[i] = xy[2 * i]; points.y[i] = xy[2 * i + 1]; }
  const mu = new Float32Array(bytesOf(data.mu).buffer);
  const decoder = loadDecoder(bytesOf(data.decoder));
  const thumbs = data.thumbnails;
  const thumbOf = new Int32Array(data.n).fill(-1);
  new Int32Array(bytesOf(thumbs.ids).buffer).forEach((id, k) => (thumbOf[id] = k));
  const sheet = new Image();
  sheet.src = `data:image/png;base64,${thumbs.png}`;

  const root = document.getElementById("le-root");
  const mapHost = el("div", { class: "le-map" });
  const legend = el("div", { class: "le-legend" }, ...data.classes.map((c) =>
    el("div", { class: "le-key" }, el("span", { class: "le-swatch", style: `background:${c.colour}` }), c.name)));
  const picture = imageCanvas(data.image_shape, IMAGE_SIDE);
  const readout = el("div", { class: "le-readout" });
  const interpHost = el("div", { class: "le-panel" });
  const tourHost = el("div", { class: "le-panel le-tour" });
  const sliderHost = el("div", { class: "le-sliders" });
  const mapNote = data.map.exact ? `${data.map.label}: the ring is z on this plane; drag it to probe.`
    : `${data.map.label} has no inverse: dragging the ring gives the mean code of the ${data.map.k} nearest points.`;
  root.append(
    el("header", {}, el("h1", { text: data.title }),
       el("span", { class: "le-sub", text: `${data.n.toLocaleString("en")} test images · ${D}-D latent · ${data.map.label} map` })),
    el("main", {},
       el("section", { class: "le-left" }, mapHost, el("div", { class: "le-side" }, legend,
          el("div", { class: "le-note", text: "Hover: the image. Click: its z. Shift-click: B." }),
          el("div", { class: "le-note", text: mapNote }))),
       el("section", { class: "le-right" },
          el("div", { class: "le-top" }, el("div", { class: "le-picture" }, picture, readout),
             el("div", { class: "le-stack" }, interpHost, tourHost)),
          sliderHost)));

  const z = Float64Array.from(data.start_z);
  let probeSpot = null;  // where the ring sits on a map that cannot place z (t-SNE): the last pick or probe
  const paint = painter(() => decoder, () => z, picture);
  const app = {
    z, picked: -1,
    plane: mapPlane(data.map, points, mu, D),
    decoder: () => decoder,
    probeXY: () => (app.plane.exact ? app.plane.place(z) : probeSpot),
    pathMode: () => interp.mode(),
    get ends() { return interp.ends; },
    setZ(values, { source, spot = null } = {}) {
      for (let i = 0; i < D; i++) z[i] = values[i];
      if (source !== "pick") app.picked = -1;  // the ring on a picked point means z is its mu
      if (spot) probeSpot = spot;
      syncSliders(z);
      readout.textContent = source === "pick" ? `z = mu of #${app.picked} (${data.classes[points.label[app.picked]].name})`
        : READOUTS[source] ?? "";
      app.redraw();
      paint();
    },
    pick(i) {
      app.picked = i;
      app.setZ(mu.subarray(i * D, (i + 1) * D), { source: "pick", spot: [points.x[i], points.y[i]] });
    },
    probe(spot) { app.setZ(app.plane.inverse(spot), { source: "probe", spot }); },
    pointEnd: (i) => ({ z: Array.from(mu.subarray(i * D, (i + 1) * D)), xy: [points.x[i], points.y[i]] }),
    currentEnd: () => ({ z: Array.from(z), xy: app.probeXY() }),
    setEnd(which, end) { interp.set(which, end); app.redraw(); },
    hasThumbnail: (i) => thumbOf[i] >= 0,
    paintThumbnail(i, canvas) {
      const [c, h, w] = data.image_shape;
      canvas.width = w;
      canvas.height = h;
      const k = thumbOf[i];
      if (k < 0 || !sheet.complete) return decodeAndPaint(decoder, mu.subarray(i * D, (i + 1) * D), canvas);
      const [th, tw] = thumbs.tile;
      canvas.getContext("2d").drawImage(sheet, (k % thumbs.columns) * tw, Math.floor(k / thumbs.columns) * th, tw, th, 0, 0, w, h);
    },
    redraw: () => map && map.draw(),
  };
  const syncSliders = slidersPanel(sliderHost, data, app);
  const interp = interpolationPanel(interpHost, data, app);
  tourPanel(tourHost, data, app);
  let map = null;
  map = createMap(mapHost, data, points, app);
  app.setZ(z, { source: "start" });
  const status = { firstMapMs: null, frames: () => Number(picture.dataset.frames), z: () => Array.from(z),
                   picked: () => app.picked, hash: () => canvasHash(picture), canvasHash,
                   pointOnScreen(i) {
                     const box = map.canvas.getBoundingClientRect();
                     const [px, py] = map.toPx(points.x[i], points.y[i]);
                     return [box.left + px, box.top + py];
                   },
                   spotOnScreen(spot) {
                     const box = map.canvas.getBoundingClientRect();
                     const [px, py] = map.toPx(spot[0], spot[1]);
                     return [box.left + px, box.top + py];
                   },
                   probeOnScreen: () => status.spotOnScreen(app.probeXY()) };
  globalThis.__standalone = status;
  requestAnimationFrame(() => {  // the frame after the first draw: the map is on screen
    status.firstMapMs = performance.now();
    document.body.dataset.ready = "true";
    if (location.hash === "#selftest") selfTest(data, picture, map.canvas);
  });
}

// Drag the first slider from its low to its high end, one input event per animation frame; hash the picture
// every frame; then compare it with torch's picture at the end (embedded by the builder) and count map pixels.
function selfTest(data, picture, mapCanvas) {
  const input = document.querySelector("input[data-dim]");
  const { low, high } = data.dims[0];
  let frame = 0, changes = 0, last = canvasHash(picture), t0 = null;
  const step = (now) => {
    t0 ??= now;
    const h = canvasHash(picture);
    if (h !== last) changes += 1;
    last = h;
    if (frame <= SELFTEST_FRAMES) {
      input.value = low + (frame / SELFTEST_FRAMES) * (high - low);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      frame += 1;
      requestAnimationFrame(step);
    } else {
      requestAnimationFrame(() => finish((now - t0) / 1000));
    }
  };
  const finish = (seconds) => {
    const expected = bytesOf(data.selftest.expected);
    const px = picture.getContext("2d").getImageData(0, 0, picture.width, picture.height).data;
    const [c, h, w] = data.image_shape;
    let maxDiff = 0;
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) maxDiff = Math.max(maxDiff, Math.abs(px[4 * p + k] - expected[(c === 1 ? 0 : k) * h * w + p]));
    }
    const map = mapCanvas.getContext("2d").getImageData(0, 0, mapCanvas.width, mapCanvas.height).data;
    let inked = 0;
    for (let i = 0; i < map.length; i += 4) inked += map[i] + map[i + 1] + map[i + 2] > 3 * 0x40 ? 1 : 0;
    const rate = changes / seconds;
    const pass = rate >= SELFTEST_MIN_CHANGES && maxDiff <= SELFTEST_TOLERANCE && inked > data.n;
    const banner = el("div", { class: `le-selftest ${pass ? "le-pass" : "le-fail"}`, "data-pass": String(pass),
                               text: `SELFTEST ${pass ? "PASS" : "FAIL"}: ${rate.toFixed(1)} picture changes/s, ` +
                                     `max pixel difference from torch ${maxDiff}, ${inked} map pixels inked` });
    Object.assign(banner.dataset, { rate: rate.toFixed(2), maxDiff: String(maxDiff), inked: String(inked) });
    document.body.append(banner);
  };
  requestAnimationFrame(step);
}

startPage();
