// What the map draws besides its points (inlined by explorer/app/scatter.py after pad_core.js and
// map_core.js, before map_view.js): the decoded atlas, painted by the in-page decoder beneath the points.
//
// The atlas is a grid over the visible window; each cell shows the decoder's image of the latent point
// behind the cell's centre. On an invertible map (the PCA plane, a 2-D latent plane) that point is exact;
// on t-SNE and UMAP it is the mean code of the nearest points (explorer.projection.local_code), and the
// atlas says it is approximate. While the view moves, the last atlas is moved with it (a CSS transform);
// it is repainted once the view has been still for ATLAS_SETTLE_MS.

const ATLAS_GRID = 20;  // cells across and down the visible window
const ATLAS_SETTLE_MS = 120;

// Page pixels <-> the map's [-1, 1] square. The library's view has no rotation, so each screen axis is
// an affine function of one map axis; it is read off the library itself (getScreenPosition) at the
// points with the extreme coordinates, found once per map.
function extremes(map) {
  const pick = (a, better) => a.reduce((best, value, i) => (better(value, a[best]) ? i : best), 0);
  return { x: [pick(map.x, (a, b) => a < b), pick(map.x, (a, b) => a > b)],
           y: [pick(map.y, (a, b) => a < b), pick(map.y, (a, b) => a > b)] };
}

function screenFrame(v) {
  const axis = (k, [i, j]) => {
    const si = v.plot.getScreenPosition(i)[k], sj = v.plot.getScreenPosition(j)[k];
    const a = k === 0 ? v.map.x : v.map.y;
    const gain = a[j] !== a[i] ? (sj - si) / (a[j] - a[i]) : 1;
    return { gain, offset: si - gain * a[i] };
  };
  return { x: axis(0, v.extremes.x), y: axis(1, v.extremes.y) };
}

// The latent point behind a spot of the map ([-1, 1] square coordinates), as the header's plane says.
function latentAt(map, nx, ny) {
  const { plane, frame } = map.header;
  const mx = nx * frame.scale + frame.centre[0], my = ny * frame.scale + frame.centre[1];
  if (plane.kind === "pca") return pcaInverse(plane, [mx, my]);
  if (plane.kind === "latent") return [mx, my];
  return localCode(map, nx, ny, plane.k);
}

// The mean code of the k points nearest (nx, ny): a fitted map's stand-in for an inverse. Distances are
// taken in the square, which is the map's own coordinates scaled alike on both axes.
function localCode(map, nx, ny, k) {
  const { x, y, codes } = map;
  const d = map.header.code_dim;
  const best = new Float64Array(k).fill(Infinity), who = new Int32Array(k).fill(-1);
  for (let i = 0; i < x.length; i++) {
    const dist = (x[i] - nx) ** 2 + (y[i] - ny) ** 2;
    if (dist >= best[k - 1]) continue;
    let slot = k - 1;
    while (slot > 0 && best[slot - 1] > dist) {
      best[slot] = best[slot - 1];
      who[slot] = who[slot - 1];
      slot -= 1;
    }
    best[slot] = dist;
    who[slot] = i;
  }
  const z = new Float64Array(d);
  let found = 0;
  for (const i of who) {
    if (i < 0) continue;
    found += 1;
    for (let j = 0; j < d; j++) z[j] += codes[i * d + j];
  }
  return Array.from(z, (s) => s / Math.max(found, 1));
}

function createAtlas(v, area) {
  const canvas = node("canvas", "le-map-atlas");
  area.prepend(canvas);  // beneath the points' canvas
  const badge = node("div", "le-map-badge");
  badge.hidden = true;
  area.append(badge);
  v.atlas = { on: false, canvas, badge, frame: null, timer: null, paints: 0, ms: [] };
}

function atlasDecoder(v) {
  const id = v.data && v.data.decoder;
  return id ? registry().decoders[id] : undefined;
}

function setAtlas(v, on) {
  const a = v.atlas;
  a.on = on;
  v.atlasButton.classList.toggle("le-on", on);
  v.root.dataset.atlas = on ? "on" : "off";
  v.root.classList.toggle("le-atlas-on", on);
  a.canvas.hidden = !on;
  if (v.plot) v.plot.set({ opacity: on ? 0.4 : 1 });  // the images show through the points
  if (!on) {
    a.badge.hidden = true;
    return;
  }
  const plane = v.map.header.plane;
  a.badge.hidden = false;
  a.badge.classList.toggle("le-approximate", !plane.exact);
  if (!atlasDecoder(v)) {
    a.badge.textContent = "Decoded atlas: waiting for the decoder...";
    if (v.data.decoder) whenDecoder(v.data.decoder).then(() => a.on && setAtlas(v, true));
    else a.badge.textContent = "Decoded atlas: this model has no in-page decoder";
    return;
  }
  a.badge.textContent = plane.exact
    ? `Atlas, exact: ${plane.kind === "pca" ? "the PCA plane" : "the latent plane"} decoded`
    : `Atlas, approximate: the mean code of the ${plane.k} nearest points, decoded`;
  a.badge.title = plane.exact
    ? "Each cell shows the decoder's image of the latent point at the cell's centre."
    : "This map has no inverse: each cell shows the decoding of the mean code of the points nearest its centre.";
  paintAtlas(v);
}

// Paint the grid over the visible window, beneath the points: ATLAS_GRID square cells along the longer
// side, as many as fit along the other, one decode each. A decode takes a millisecond or two, so a grid
// is painted row by row over several animation frames (ATLAS_SLICE_MS of work each): the page stays
// responsive, and a view that moves meanwhile starts a new grid. The cells are written at the images'
// own resolution into one picture, drawn scaled: one copy per frame, not one per cell.
function paintAtlas(v) {
  const a = v.atlas, decoder = atlasDecoder(v);
  if (!a.on || !decoder || !v.plot) return;
  clearTimeout(a.timer);
  const box = v.canvas.getBoundingClientRect();
  const cell = Math.max(box.width, box.height) / ATLAS_GRID;
  const cols = Math.ceil(box.width / cell), rows = Math.ceil(box.height / cell);
  const [, h, w] = decoder.imageShape;
  const picture = document.createElement("canvas");  // a cell is its image and a one-pixel white gap
  picture.width = cols * (w + 1);
  picture.height = rows * (h + 1);
  const sheet = new ImageData(picture.width, picture.height);
  sheet.data.fill(255);
  const job = { decoder, box, cell, cols, rows, row: 0, frame: screenFrame(v), picture, sheet,
                t0: performance.now(), busy: 0 };
  a.job = job;
  const dpr = globalThis.devicePixelRatio || 1;
  a.canvas.width = Math.round(box.width * dpr);
  a.canvas.height = Math.round(box.height * dpr);
  a.canvas.style.transform = "";
  a.frame = job.frame;
  requestAnimationFrame(() => atlasSlice(v, job));
}

const ATLAS_SLICE_MS = 30;

function atlasSlice(v, job) {
  const a = v.atlas;
  if (a.job !== job || !a.on) return;  // a newer grid, or the atlas was turned off
  const start = performance.now();
  const { decoder, cell, cols, sheet, frame } = job;
  const [c, h, w] = decoder.imageShape;
  const hw = h * w, stride = cols * (w + 1);
  while (job.row < job.rows && performance.now() - start < ATLAS_SLICE_MS) {
    const row = job.row;
    for (let col = 0; col < cols; col++) {
      const sx = (col + 0.5) * cell, sy = (row + 0.5) * cell;
      const nx = (sx - frame.x.offset) / frame.x.gain, ny = (sy - frame.y.offset) / frame.y.gain;
      const image = decoder.decode(latentAt(v.map, nx, ny));
      for (let p = 0; p < hw; p++) {
        const q = 4 * ((row * (h + 1) + Math.floor(p / w)) * stride + col * (w + 1) + (p % w));
        for (let k = 0; k < 3; k++) sheet.data[q + k] = Math.round(255 * image[(c === 1 ? 0 : k) * hw + p]);
        sheet.data[q + 3] = 255;
      }
    }
    job.row += 1;
  }
  job.picture.getContext("2d").putImageData(sheet, 0, 0);
  const g = a.canvas.getContext("2d");
  const dpr = globalThis.devicePixelRatio || 1;
  g.clearRect(0, 0, a.canvas.width, a.canvas.height);
  g.imageSmoothingEnabled = true;  // at a cell's size, smoothed images read better than blocks of pixels
  g.drawImage(job.picture, 0, 0, cols * cell * dpr, job.rows * cell * dpr);
  job.busy += performance.now() - start;
  if (job.row < job.rows) {
    requestAnimationFrame(() => atlasSlice(v, job));
    return;
  }
  a.job = null;
  a.paints += 1;
  const ms = performance.now() - job.t0;
  a.ms.push({ ms, busy: job.busy, cells: cols * job.rows });
  if (a.ms.length > 200) a.ms.shift();
  v.root.dataset.atlasPaints = String(a.paints);
  v.root.dataset.atlasMs = ms.toFixed(1);
  v.root.dataset.atlasCells = String(cols * job.rows);
}

// The view moved: carry the last atlas along at once, repaint it when the view is still.
function atlasFollowView(v) {
  const a = v.atlas;
  if (!a.on || !a.frame) return;
  const now = screenFrame(v), was = a.frame;
  if (a.job) a.job = null;  // an unfinished grid is for a view that is gone
  const kx = now.x.gain / was.x.gain, ky = now.y.gain / was.y.gain;
  const tx = now.x.offset - kx * was.x.offset, ty = now.y.offset - ky * was.y.offset;
  a.canvas.style.transform = `matrix(${kx}, 0, 0, ${ky}, ${tx}, ${ty})`;
  clearTimeout(a.timer);
  a.timer = setTimeout(() => paintAtlas(v), ATLAS_SETTLE_MS);
}
