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

// The images layer, by zoom (as latent-scope's image map does):
// - the whole map, or nearly (zoomed in less than IMAGES_FROM_ZOOM): the points, and where more than
//   DENSITY_FROM of them are visible, their density shaded beneath them, where single dots tell little;
// - zoomed in, while the visible points are too many to show each: one representative image per cell of
//   a grid of SAMPLE_CELL pixels (the cell's first point; the grid is fixed to the map, so the choice
//   holds while panning), drawn at that point;
// - zoomed in further: every visible point's own image in place, as large as the window allows
//   (THUMB_MIN to THUMB_MAX pixels), at most THUMB_CAP of them: what stays fluid while panning.
// Images are framed in their class colour. Repainted with every draw of the points (a pan, a zoom, a
// selection, a class hidden).
const THUMB_MIN = 24, THUMB_MAX = 72, THUMB_CAP = 600;
const THUMB_FILL = 0.6;  // every image is shown once they would cover at most this share of the window
const IMAGES_FROM_ZOOM = 1.5;  // times the scale at which the whole map fits the window
const SAMPLE_CELL = 44;
const DENSITY_FROM = 1500;
const DENSITY_BIN = 4;  // CSS pixels per density cell
const DENSITY_RGB = [31, 78, 158];
const HOVER_SIDE = 128;

function createImageLayers(v, area, pointsCanvas) {
  const density = node("canvas", "le-map-density");
  pointsCanvas.before(density);  // beneath the points (above the atlas, which is first)
  const thumbs = node("canvas", "le-map-thumbs");
  pointsCanvas.after(thumbs);  // over the points, under the ring and the hover card
  v.layers = { on: true, density, thumbs, request: onceAFrame(() => paintLayers(v)), kind: "points", drawn: 0,
               paints: 0 };
  v.layers.repaint = () => v.layers.request();  // when images reach the page (map_loader.js)
  mapRegistry().onImages.add(v.layers.repaint);
}

// The images ids of the map in view: its sheet, then (a training map) its tiles.
function imageIds(v) {
  return v.data ? [v.data.images_id, v.data.tiles_id].filter(Boolean) : [];
}

function hasImages(v) {
  const reg = mapRegistry();
  return imageIds(v).some((id) => reg.images[id] && reg.images[id].where.size);
}

// Zoomed in on a training map: the cells of the map's tile grid (data.tile_grid a side, over the [-1, 1]
// square, as scatter.tile_cells) whose images the page lacks, asked for once each, when the view settles.
const TILES_SETTLE_MS = 150;

function askTiles(v, missing) {
  const id = v.data && v.data.tiles_id;
  if (!id || !missing.length || !v.setStateValue) return;
  const G = v.data.tile_grid, entry = mapRegistry().images[id];
  const asked = (v.tilesAsked ??= new Map());
  if (!asked.has(id)) asked.set(id, new Set());
  const mine = asked.get(id);
  const { x, y } = v.map;
  const cells = new Set();
  for (const p of missing) {
    const cx = Math.min(G - 1, Math.max(0, Math.floor(((x[p] + 1) / 2) * G)));
    const cy = Math.min(G - 1, Math.max(0, Math.floor(((y[p] + 1) / 2) * G)));
    const cell = cy * G + cx;
    if (!mine.has(cell) && !(entry && entry.cells.has(cell))) cells.add(cell);
  }
  if (!cells.size) return;
  clearTimeout(v.tilesTimer);
  v.tilesTimer = setTimeout(() => {
    for (const c of cells) mine.add(c);
    v.tileRequests = (v.tileRequests ?? 0) + 1;
    v.root.dataset.tileRequests = String(v.tileRequests);
    v.setStateValue("tiles", { tiles_id: id, cells: [...cells].sort((a, b) => a - b), seq: `${v.born}-t${v.tileRequests}` });
  }, TILES_SETTLE_MS);
}

// fn, run at most once per animation frame however often it is asked for (input can outpace the screen).
function onceAFrame(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}

function requestLayers(v) {
  v.layers.request();
}

function setImages(v, on) {
  v.layers.on = on;
  v.imagesButton.classList.toggle("le-on", on);
  v.root.dataset.images = on ? "on" : "off";
  requestLayers(v);
}

function sizeCanvas(canvas, box, dpr) {
  const w = Math.round(box.width * dpr), h = Math.round(box.height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext("2d");
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.clearRect(0, 0, w, h);
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return g;
}

function paintLayers(v) {
  const L = v.layers;
  if (!v.plot || !v.map) return;
  const t0 = performance.now();
  const box = v.canvas.getBoundingClientRect();
  const dpr = globalThis.devicePixelRatio || 1;
  const gd = sizeCanvas(L.density, box, dpr), gt = sizeCanvas(L.thumbs, box, dpr);
  let kind = "points", drawn = 0, missing = [];
  if (L.on) {
    const f = screenFrame(v);
    const { x, y, labels } = v.map;
    const visible = [], sx = [], sy = [];
    for (let i = 0; i < x.length; i++) {
      if (v.hidden.has(labels[i])) continue;
      const px = f.x.gain * x[i] + f.x.offset, py = f.y.gain * y[i] + f.y.offset;
      if (px < 0 || py < 0 || px > box.width || py > box.height) continue;
      visible.push(i);
      sx.push(px);
      sy.push(py);
    }
    const ids = imageIds(v);
    const zoom = f.x.gain / (Math.min(box.width, box.height) / 2);  // 1: the whole [-1, 1] square fits
    const side = Math.min(THUMB_MAX, Math.sqrt((THUMB_FILL * box.width * box.height) / Math.max(visible.length, 1)));
    if (hasImages(v) && visible.length && zoom >= IMAGES_FROM_ZOOM) {
      const every = visible.length <= THUMB_CAP && side >= THUMB_MIN;
      const [shown, at] = every ? [visible, null] : sampleCells(visible, sx, sy, f, SAMPLE_CELL, ids);
      drawn = drawThumbnails(v, gt, ids, shown, at ? at.x : sx, at ? at.y : sy, every ? side : SAMPLE_CELL - 8,
                             missing);
      if (every) askTiles(v, missing);
      kind = every ? "images" : "sampled";
    } else if (visible.length > DENSITY_FROM && !v.atlas.on) {
      drawDensity(gd, sx, sy, box);
      kind = "density";
    }
  }
  L.kind = kind;
  L.drawn = drawn;
  L.missing = missing.length;  // images of shown points not on the page yet (asked for, as tiles)
  L.paints += 1;
  (L.ms ??= []).push({ kind, ms: performance.now() - t0, drawn });  // for the benchmark
  if (L.ms.length > 500) L.ms.shift();
  v.root.dataset.layer = kind;
  v.root.dataset.thumbnails = String(drawn);
}

// One point per cell of a grid of ``cell`` pixels fixed to the map (its first point in the map's order
// that has an image on the page), with its screen position: the representatives of a crowded window.
function sampleCells(visible, sx, sy, f, cell, ids) {
  const chosen = new Map();
  for (let k = 0; k < visible.length; k++) {
    const cx = Math.floor((sx[k] - f.x.offset) / cell), cy = Math.floor((sy[k] - f.y.offset) / cell);
    const key = cx * 100003 + cy;
    if (!chosen.has(key) && imageAt(ids, visible[k])) chosen.set(key, k);
  }
  const ks = [...chosen.values()];
  return [ks.map((k) => visible[k]), { x: ks.map((k) => sx[k]), y: ks.map((k) => sy[k]) }];
}

// The images of ``visible`` at (sx, sy), ``side`` pixels; those not on the page yet go to ``missing``.
function drawThumbnails(v, g, ids, visible, sx, sy, side, missing) {
  const selected = v.selectedSet;
  const order = visible.map((p, k) => k);
  const rank = (k) => (visible[k] === v.marked ? 2 : selected && selected.has(visible[k]) ? 1 : 0);
  order.sort((a, b) => rank(a) - rank(b));  // the selection, then the pick, on top
  const frames = colours(v);
  const s = Math.round(side), half = s / 2;
  v.layers.placed = [];  // [id, left, top, side] in drawing order, for tests
  for (const k of order) {
    const p = visible[k];
    const at = imageAt(ids, p);
    if (!at) {
      missing.push(p);
      continue;
    }
    const [bitmap, ix, iy, w, h] = at;
    g.imageSmoothingEnabled = s < w;
    g.globalAlpha = selected && !selected.has(p) ? 0.25 : 1;  // greyed, not hidden, as the points are
    const left = Math.round(sx[k] - half), top = Math.round(sy[k] - half);
    v.layers.placed.push([v.map.ids[p], left, top, s]);
    g.fillStyle = frames[v.map.labels[p]];
    g.fillRect(left - 2, top - 2, s + 4, s + 4);
    g.drawImage(bitmap, ix, iy, w, h, left, top, s, s);
  }
  g.globalAlpha = 1;
  return v.layers.placed.length;
}

function drawDensity(g, sx, sy, box) {
  const nx = Math.ceil(box.width / DENSITY_BIN), ny = Math.ceil(box.height / DENSITY_BIN);
  let grid = new Float32Array(nx * ny), tmp = new Float32Array(nx * ny);
  for (let k = 0; k < sx.length; k++) {
    const bx = Math.min(nx - 1, Math.floor(sx[k] / DENSITY_BIN)), by = Math.min(ny - 1, Math.floor(sy[k] / DENSITY_BIN));
    grid[by * nx + bx] += 1;
  }
  const r = 3;  // two passes of a box blur of radius r along each axis: close to a Gaussian
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        let sum = 0;
        for (let d = -r; d <= r; d++) sum += grid[j * nx + Math.min(nx - 1, Math.max(0, i + d))];
        tmp[j * nx + i] = sum / (2 * r + 1);
      }
    }
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        let sum = 0;
        for (let d = -r; d <= r; d++) sum += tmp[Math.min(ny - 1, Math.max(0, j + d)) * nx + i];
        grid[j * nx + i] = sum / (2 * r + 1);
      }
    }
  }
  let top = 0;
  for (const value of grid) top = Math.max(top, value);
  const shade = new ImageData(nx, ny);
  for (let q = 0; q < grid.length; q++) {
    shade.data.set(DENSITY_RGB, 4 * q);
    shade.data[4 * q + 3] = Math.round(255 * 0.45 * Math.sqrt(grid[q] / (top || 1)));
  }
  const small = document.createElement("canvas");
  small.width = nx;
  small.height = ny;
  small.getContext("2d").putImageData(shade, 0, 0);
  g.imageSmoothingEnabled = true;
  g.drawImage(small, 0, 0, nx * DENSITY_BIN, ny * DENSITY_BIN);
}

// The hover card's picture: the point's image, larger than on the map, with crisp pixels.
function hoverPicture(v, p) {
  const at = imageAt(imageIds(v), p);
  if (!at) return null;
  const [bitmap, ix, iy, w, h] = at;
  const canvas = node("canvas", "le-map-card-image");
  const side = v.data.big ? 1.4 * HOVER_SIDE : HOVER_SIDE;
  canvas.width = side;
  canvas.height = Math.round((side * h) / w);
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = false;
  g.drawImage(bitmap, ix, iy, w, h, 0, 0, canvas.width, canvas.height);
  return canvas;
}
