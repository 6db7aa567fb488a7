// The map: the encoded test set as a regl-scatterplot (WebGL), with a legend, a hover card, the picked
// point marked on top, pan/zoom and lasso. Inlined by explorer/app/scatter.py after the vendored
// libraries (map_js/vendor/) and map_core.js.
//
// data (JSON, small, per rerun): {map_id, marked, selection, height, big, id_label, decoder}; the points come
// from the loader (map_loader.js) through the page's registry. The map reports a click or a lasso as
// the state "selected": {ids: [test-set ids], how: "click" | "lasso", seq}; one rerun per gesture. The
// probe (map_probe.js) reports its spot on release as the state "probe".
// Zoom and pan stay in the page: a rerun with a new pick keeps the view.

const VIEWS = new WeakMap();  // parentElement -> the view drawn in it
const BACKGROUND = "#ffffff";
const INK = "#111111";

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function pointSizeFor(n, big) {
  const base = n > 50000 ? 3 : n > 15000 ? 4 : n > 3000 ? 5 : 7;
  return big ? base + 2 : base;
}

function createView(parentElement) {
  const root = node("div", "le-map");
  const area = node("div", "le-map-area");  // the plot: canvas, what is drawn over it, its tools
  const canvas = node("canvas", "le-map-canvas");
  const overlay = node("div", "le-map-overlay");  // drawn over the points: the picked point's ring
  const ring = node("div", "le-map-ring");
  ring.hidden = true;
  overlay.append(ring);
  const card = node("div", "le-map-card");  // the hover card
  card.hidden = true;
  const legend = node("div", "le-map-legend");
  const tools = node("div", "le-map-tools");
  const axes = [node("div", "le-map-axis le-map-axis-x"), node("div", "le-map-axis le-map-axis-y")];
  area.append(canvas, overlay, tools, card);
  const grid = node("div", "le-map-grid");
  grid.append(axes[1], area, legend, axes[0]);
  root.append(grid);
  parentElement.append(root);

  const v = {
    root, canvas, overlay, ring, card, legend, tools, axes,
    plot: null, map: null, mapId: null, data: null, setStateValue: null, seq: 0,
    marked: null, selection: [], hidden: new Set(), quietSelect: false,
    draws: 0, born: Date.now().toString(36) + Math.random().toString(36).slice(2, 6),
  };
  root.dataset.draws = "0";
  createAtlas(v, area);
  createImageLayers(v, area, canvas);
  createProbe(v, area);
  // For tests and benchmarks: el.leView.plot, and the map's own maths on the page's current view.
  v.maths = { screenFrame: () => screenFrame(v), latentAt: (nx, ny) => latentAt(v.map, nx, ny) };
  Object.defineProperty(root, "leView", { value: v });  // for tests and benchmarks: el.leView.plot

  const button = (label, title, onClick) => {
    const b = node("button", "le-map-tool", label);
    b.type = "button";
    b.title = title;
    b.addEventListener("click", onClick);
    tools.append(b);
    return b;
  };
  v.panButton = button("Pan", "Drag to pan, scroll to zoom, click a point to inspect it", () => setMode(v, "panZoom"));
  v.lassoButton = button("Lasso", "Drag a loop around points to select them (or hold Shift while dragging)",
                         () => setMode(v, "lasso"));
  v.imagesButton = button("Images", "Zoomed in: each point's own image, drawn in place. Zoomed out: where the points are dense",
                          () => setImages(v, !v.layers.on));
  v.imagesButton.classList.add("le-on");
  v.probeButton = button("Probe", "A handle to drag over the map: the decoder's image of the spot under it, live",
                         () => setProbe(v, !v.probe.on));
  v.atlasButton = button("Atlas", "Paint the decoder's image at each cell of a grid over the view, beneath the points",
                         () => setAtlas(v, !v.atlas.on));
  button("Reset", "Back to the whole map", () => fitAll(v, true));
  button("PNG", "Save the map as you see it, with its legend, as a PNG", () => savePng(v));
  return v;
}

// The whole [-1, 1] square in view, whatever the canvas's aspect (the library fits its height only).
function fitAll(v, transition = false) {
  if (v.plot) v.plot.zoomToArea({ x: -1, y: -1, width: 2, height: 2 }, { transition, transitionDuration: 300 });
}

function setMode(v, mode) {
  if (!v.plot) return;
  v.plot.set({ mouseMode: mode });
  v.panButton.classList.toggle("le-on", mode === "panZoom");
  v.lassoButton.classList.toggle("le-on", mode === "lasso");
  v.root.dataset.mode = mode;
}

function report(v, positions, how) {
  if (!v.setStateValue || !v.map) return;
  const ids = Array.from(positions, (p) => v.map.ids[p]);
  v.seq += 1;
  v.root.dataset.reports = String(v.seq);
  // seq names this gesture uniquely (a reloaded page counts from 1 again): Python takes each one once.
  v.setStateValue("selected", { ids, how, seq: `${v.born}-${v.seq}` });
}

function buildPlot(v) {
  const { width, height } = v.canvas.getBoundingClientRect();
  const plot = globalThis.createScatterplot.default({
    canvas: v.canvas,
    width: Math.max(1, Math.round(width)),
    height: Math.max(1, Math.round(height)),
    backgroundColor: [1, 1, 1, 0],  // transparent: the area's white, or the atlas beneath, shows through
    pointColorHover: INK,
    lassoColor: [0.12, 0.31, 0.62, 1],
    lassoLineWidth: 3,
    opacityInactiveScale: 0.22,  // with a selection, the rest fade towards the background: greyed, not hidden
    pointOutlineWidth: 2,
    pointSizeSelected: 2,
    colorBy: "valueA",
    deselectOnDblClick: false,
    deselectOnEscape: false,
    spatialIndexUseWorker: false,  // a worker from a blob module is one more thing a locked-down page may refuse
  });
  let lassoing = false;
  plot.subscribe("lassoStart", () => { lassoing = true; });
  plot.subscribe("select", ({ points }) => {
    if (v.quietSelect) return;
    const how = lassoing ? "lasso" : "click";
    lassoing = false;
    if (points.length) report(v, points, how);
  });
  plot.subscribe("lassoEnd", () => {
    setTimeout(() => { lassoing = false; }, 0);
  });
  plot.subscribe("pointOver", (p) => showCard(v, p));
  plot.subscribe("pointOut", () => { v.card.hidden = true; });
  plot.subscribe("view", () => {
    placeRing(v);
    placeProbe(v);
    atlasFollowView(v);
  });
  plot.subscribe("draw", () => {
    v.draws += 1;
    v.root.dataset.draws = String(v.draws);
    mapRegistry().draws += 1;
    placeRing(v);
    requestLayers(v);
  });
  new ResizeObserver(() => {
    const r = v.canvas.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) plot.set({ width: Math.round(r.width), height: Math.round(r.height) });
    if (v.atlas.on) {
      clearTimeout(v.atlas.timer);
      v.atlas.timer = setTimeout(() => paintAtlas(v), ATLAS_SETTLE_MS);
    }
  }).observe(v.canvas);
  v.plot = plot;
  setMode(v, "panZoom");
}

// The class colours: the session's palette (per rerun, in the view's data), else the points' own.
function colours(v) {
  const chosen = v.data && v.data.colours;
  return chosen && chosen.length === v.map.header.classes.length ? chosen : v.map.header.classes.map((c) => c.colour);
}

function applyColours(v) {
  const key = colours(v).join();
  if (key === v.colourKey) return;
  v.colourKey = key;
  if (!v.values) v.plot.set({ pointColor: colours(v), pointColorActive: colours(v) });
  drawLegend(v);
}

// Coloured by a per-image score (data.values_id: the loader's values): light where the model does well,
// dark where it does worst, so the images it handles worst stand out on the white map (viridis, reversed).
const SCORE_COLOURS = ["#fde725", "#d2e21b", "#a5db36", "#7ad151", "#54c568", "#35b779", "#22a884", "#1f988b",
                       "#23888e", "#2a788e", "#31688e", "#39568c", "#414487", "#472f7d", "#481a6c", "#440154"];

function applyValues(v) {
  const id = v.data.values_id || null;
  if (id === (v.valuesId ?? null)) return;
  v.valuesId = id;
  if (!id) {
    v.values = null;
    v.plot.set({ colorBy: "valueA", pointColor: colours(v), pointColorActive: colours(v) });
    drawLegend(v);
    v.root.dataset.colourBy = "class";
    return;
  }
  whenValues(id).then(async (entry) => {
    if (v.valuesId !== id || !v.plot) return;
    await v.plot.draw({ x: v.map.x, y: v.map.y, valueA: v.map.labels, valueB: entry.values },
                      { zDataType: "categorical", wDataType: "continuous", preventFilterReset: true });
    v.values = entry;
    v.plot.set({ colorBy: "valueB", pointColor: SCORE_COLOURS, pointColorActive: SCORE_COLOURS });
    drawLegend(v);
    applyState(v);  // the selection, again, on the redrawn points
    v.root.dataset.colourBy = entry.header.label;
  });
}

function drawLegend(v) {
  const { classes } = v.map.header;
  v.legend.replaceChildren();
  if (v.values) {
    const { label, lo, hi } = v.values.header;
    const bar = node("div", "le-map-colour-bar");
    bar.style.background = `linear-gradient(to right, ${SCORE_COLOURS.join(", ")})`;
    const ends = node("div", "le-map-colour-ends");
    ends.append(node("span", "", lo.toFixed(1)), node("span", "", `${hi.toFixed(1)} (worst)`));
    v.legend.append(node("div", "le-map-legend-title", `${label}, nats`), bar, ends);
  }
  v.legend.append(node("div", "le-map-legend-title", v.values ? "class (click to hide)" : "class"));
  classes.forEach((c, k) => {
    const row = node("button", "le-map-legend-row");
    row.type = "button";
    row.title = "Click to hide or show this class";
    const swatch = node("span", "le-map-swatch");
    swatch.style.background = colours(v)[k];
    row.append(swatch, node("span", "le-map-legend-name", c.name));
    row.classList.toggle("le-off", v.hidden.has(k));
    row.addEventListener("click", () => toggleClass(v, k));
    v.legend.append(row);
  });
}

function visiblePositions(v) {
  const out = [];
  const { labels } = v.map;
  for (let i = 0; i < labels.length; i++) if (!v.hidden.has(labels[i])) out.push(i);
  return out;
}

function toggleClass(v, k) {
  if (v.hidden.has(k)) v.hidden.delete(k);
  else v.hidden.add(k);
  drawLegend(v);
  if (v.hidden.size) v.plot.filter(visiblePositions(v), { preventEvent: true });
  else v.plot.unfilter({ preventEvent: true });
  v.root.dataset.hiddenClasses = String(v.hidden.size);
}

function drawPoints(v) {
  const { map } = v;
  v.plot.set({
    pointColor: colours(v),
    pointColorActive: colours(v),
    pointSize: pointSizeFor(map.header.n, v.data.big),
  });
  v.hidden.clear();
  v.colourKey = colours(v).join();
  v.extremes = extremes(map);
  drawLegend(v);
  v.axes[0].textContent = map.header.axis_titles[0];
  v.axes[1].textContent = map.header.axis_titles[1];
  return v.plot.draw({ x: map.x, y: map.y, valueA: map.labels }, { zDataType: "categorical" });
}

function positionOf(v, id) {
  if (id === null || id === undefined || !v.map) return null;
  const { ids } = v.map;  // sorted (the map's subset is sorted), so a binary search finds the position
  let lo = 0, hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] === id) return mid;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

function applyState(v) {
  const d = v.data;
  const marked = positionOf(v, d.marked);
  const selection = (d.selection || []).map((id) => positionOf(v, id)).filter((p) => p !== null);
  v.marked = marked;
  v.quietSelect = true;
  // A group (a lasso) is selected, greying the rest; a single pick is only ringed, the map stays as it is.
  if (selection.length > 1) v.plot.select(selection, { preventEvent: true });
  else v.plot.deselect({ preventEvent: true });
  v.quietSelect = false;
  v.root.dataset.marked = marked === null ? "" : String(d.marked);
  v.root.dataset.selected = String(selection.length > 1 ? selection.length : marked === null ? 0 : 1);
  const from = d.training_from;
  v.ring.dataset.label = marked === null ? "" : from !== null && from !== undefined && d.marked >= from
    ? `training #${d.marked - from}` : `#${d.marked}`;
  v.selectedSet = selection.length > 1 ? new Set(selection) : null;
  placeRing(v);
  requestLayers(v);
}

// The picked point's ring: an element over the canvas, so nothing the WebGL layer draws can cover it.
function placeRing(v) {
  if (v.marked === null || !v.plot) {
    v.ring.hidden = true;
    return;
  }
  const [x, y] = v.plot.getScreenPosition(v.marked);
  const r = v.canvas.getBoundingClientRect();
  const inside = x >= 0 && y >= 0 && x <= r.width && y <= r.height;
  v.ring.hidden = !inside;
  v.ring.style.transform = `translate(${x}px, ${y}px)`;
  v.ring.classList.toggle("le-label-left", x > r.width - 90);  // the label reads inward near the right edge
}

function showCard(v, p) {
  const { map } = v;
  const cls = map.header.classes[map.labels[p]];
  const swatch = node("span", "le-map-swatch");
  swatch.style.background = colours(v)[map.labels[p]];
  const line = node("div", "le-map-card-line");
  const id = map.ids[p], from = v.data.training_from;  // ids from training_from on are training images
  const name = from !== null && from !== undefined && id >= from ? `training image #${id - from}` : `${v.data.id_label} #${id}`;
  line.append(swatch, node("span", "", `${name} · ${cls.name}`));
  const score = v.values ? `${v.values.header.label} ${v.values.raw[p].toFixed(1)} nats` : null;
  const picture = hoverPicture(v, p);
  const lines = score ? [line, node("div", "le-map-card-line", score)] : [line];
  v.card.replaceChildren(...(picture ? [picture, ...lines] : lines));
  v.card.hidden = false;
  // Beside the point, turned inward near the right and bottom edges so it stays on the map.
  const [x, y] = v.plot.getScreenPosition(p);
  const r = v.canvas.getBoundingClientRect(), c = v.card.getBoundingClientRect();
  const left = x + 14 + c.width > r.width ? x - 14 - c.width : x + 14;
  const top = y - 14 + c.height > r.height ? Math.max(0, r.height - c.height) : y - 14;
  v.card.style.transform = `translate(${Math.round(Math.max(0, left))}px, ${Math.round(Math.max(0, top))}px)`;
}

async function savePng(v) {
  if (!v.plot) return;
  const image = await v.plot.export({ scale: 2 });
  const legendWidth = 260;
  const out = document.createElement("canvas");
  out.width = image.width + legendWidth;
  out.height = image.height;
  const g = out.getContext("2d");
  g.fillStyle = BACKGROUND;
  g.fillRect(0, 0, out.width, out.height);
  if (v.atlas.on) g.drawImage(v.atlas.canvas, 0, 0, image.width, image.height);
  g.drawImage(await createImageBitmap(image), 0, 0);  // drawn, not put: the points' background is transparent
  g.font = "28px sans-serif";
  g.fillStyle = INK;
  v.map.header.classes.forEach((c, k) => {
    g.fillStyle = colours(v)[k];
    g.fillRect(image.width + 20, 40 + k * 40, 24, 24);
    g.fillStyle = INK;
    g.fillText(c.name, image.width + 56, 62 + k * 40);
  });
  const a = document.createElement("a");
  a.href = out.toDataURL("image/png");
  a.download = `${v.map.header.file_stem}.png`;
  a.click();
}

export default function ({ data, parentElement, setStateValue }) {
  let v = VIEWS.get(parentElement);
  if (!v) {
    v = createView(parentElement);
    VIEWS.set(parentElement, v);
    mapRegistry().views += 1;
  }
  clearTimeout(v.destroyTimer);
  v.setStateValue = setStateValue;
  v.data = data;
  v.root.style.setProperty("--le-max-height", `${data.height}px`);  // the height follows the width, up to this
  v.root.classList.toggle("le-big", Boolean(data.big));
  whenMap(data.map_id).then(async (map) => {
    if (v.data !== data) return;  // a newer rerun arrived meanwhile
    if (!v.plot) buildPlot(v);
    if (v.mapId !== data.map_id) {
      v.map = map;
      v.mapId = data.map_id;
      v.root.dataset.mapId = data.map_id;
      v.root.dataset.points = String(map.header.n);
      v.values = null;  // the new map's points are drawn coloured by class; its values follow
      v.valuesId = null;
      v.plot.set({ colorBy: "valueA" });
      await drawPoints(v);
      fitAll(v);
      if (v.atlas.on) setAtlas(v, true);  // the new map's plane: repainted, relabelled
      if (v.probe.on) {
        v.probe.at = null;  // a spot of the old map means nothing on the new one
        setProbe(v, true);
      }
    }
    applyColours(v);
    applyState(v);
    applyValues(v);
    v.probe.replay(data.replay);  // a recorded tour's drag of the probe, played back
  });
  // Called when the component unmounts, and possibly before a rerun with new data: destroy the WebGL
  // context only if the element really left the page (a browser allows only a few contexts at a time).
  return () => {
    v.destroyTimer = setTimeout(() => {
      if (parentElement.isConnected || !v.plot) return;
      v.plot.destroy();
      v.plot = null;
      mapRegistry().onImages.delete(v.layers.repaint);
      VIEWS.delete(parentElement);
    }, 1000);
  };
}
