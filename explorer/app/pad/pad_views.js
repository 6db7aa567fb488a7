// The probe on the map and the interpolation scrubber, and the component's entry point.

const MAP_MARGIN = 0.04;  // of the extent, around the data

// A marker dragged over the map (PCA, or the latent plane of a 2-D model); the image at that spot follows.
function probeView(root, data, env) {
  let decoder = null;
  let xy = Float64Array.from(data.xy);
  const toLatent = () => (data.plane.kind === "pca" ? pcaInverse(data.plane, xy) : Array.from(xy));
  const canvas = imageCanvas(data.image_shape, data.side);
  const paint = painter(() => decoder, toLatent, canvas);
  const report = reporter((name, value) => env.setStateValue(name, value), "z");
  const gesture = trail(() => Array.from(xy));
  const dpr = window.devicePixelRatio || 1;
  const size = data.map_side;
  const map = el("canvas", { class: "le-map", width: size * dpr, height: size * dpr,
                             "aria-label": "map: drag the probe, or use the arrow keys" });
  map.style.width = map.style.height = `${size}px`;
  const [x0, x1, y0, y1] = data.extent;
  const layer = scatterLayer(data.points, data.colours, data.extent, size, size, dpr, 2.2, 0.55);
  const readout = el("div", { class: "le-caption" });
  function drawMap() {
    const ctx = map.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#FFFFFF";
    ctx.fillRect(0, 0, size, size);
    ctx.drawImage(layer, 0, 0, size, size);
    drawMarker(ctx, ((xy[0] - x0) / (x1 - x0)) * size, ((y1 - xy[1]) / (y1 - y0)) * size, "#111111");
    readout.textContent = `Probe at (${fmt(xy[0])}, ${fmt(xy[1])}) on the ${data.plane_name}.`;
  }
  draggable(map, (px, py, w, h) => {
    xy = Float64Array.from([x0 + clamp(px / w, 0, 1) * (x1 - x0), y1 - clamp(py / h, 0, 1) * (y1 - y0)]);
    drawMap();
    paint();
    gesture.add();
  }, () => report({ z: toLatent(), xy: Array.from(xy), source: "probe", gesture: gesture.take() }),
  (w, h) => [((xy[0] - x0) / (x1 - x0)) * w, ((y1 - xy[1]) / (y1 - y0)) * h]);
  const legend = el("div", { class: "le-legend" }, ...data.class_names.map((name, i) =>
    el("span", {}, el("i", { style: `background:${data.colours[i]}` }), name)));
  const axes = el("div", { class: "le-caption", text: `x: ${data.axis_titles[0]} · y: ${data.axis_titles[1]}` });
  const status = el("div", { class: "le-caption le-status", text: "Loading the decoder into the page..." });
  root.append(el("div", { class: "le-col" }, map, axes, legend),
              el("div", { class: "le-col" }, canvas, readout, status));
  drawMap();
  const replay = replayer(root, (values) => {  // a recorded drag of the probe, played back
    xy = Float64Array.from(values);
    drawMap();
    paint();
  });
  replay(data.replay);
  return {
    setDecoder(d) {
      decoder = d;
      status.textContent = "Drag the marker (or click the map and use the arrow keys, Shift for big steps): "
        + "the image is decoded in this page at that spot.";
      paint();
    },
    update(next) { replay(next.replay); },  // the probe keeps its place until the view is reopened
  };
}

// Scrub along the path through its points (A, B, C, ...); every position is decoded live, each leg lerp or
// slerp as the server drew it. s runs from 0 to the number of legs: point k sits at s = k.
function pathView(root, data, env) {
  let decoder = null;
  let t = data.t;
  const legs = () => data.points.length - 1;
  const legAt = (s) => Math.min(Math.floor(s), legs() - 1);
  const z = () => {
    const k = legAt(t);
    return pathPoint(data.points[k], data.points[k + 1], t - k, data.modes[k]);
  };
  const canvas = imageCanvas(data.image_shape, data.side);
  const paint = painter(() => decoder, z, canvas);
  const report = reporter((name, value) => env.setStateValue(name, value), "z");
  const gesture = trail(() => [t]);
  const scrub = el("input", { type: "range", min: 0, max: legs(), step: 0.001,
                              "aria-label": "position along the path" });
  scrub.value = t;
  const readout = el("div", { class: "le-caption" });
  const first = el("span", { text: data.names[0] }), last = el("span", { text: data.names[data.names.length - 1] });
  const show = () => {
    const k = legAt(t), n = data.positions.length;
    let frame = 0;
    while (frame < n - 2 && data.positions[frame + 1] <= t) frame += 1;
    readout.textContent = `t = ${t.toFixed(3)} · ${data.names[k]} → ${data.names[k + 1]} · ` +
      `${data.modes[k] === "spherical" ? "slerp" : "linear"} · between frames ${frame + 1} and ${frame + 2} of ${n}`;
  };
  scrub.addEventListener("input", () => { t = Number(scrub.value); show(); paint(); gesture.add(); });
  scrub.addEventListener("change", () => report({ z: z(), t, source: "path", gesture: gesture.take() }));
  const ends = el("div", { class: "le-ends" }, first, scrub, last);
  const status = el("div", { class: "le-caption le-status", text: "Loading the decoder into the page..." });
  root.append(el("div", { class: "le-col" }, canvas),
              el("div", { class: "le-col le-grow" }, el("div", { class: "le-head", text: "Scrub along the path" }),
                 ends, readout, status));
  show();
  const replay = replayer(root, ([value]) => {  // a recorded scrub, played back
    t = value;
    scrub.value = t;
    show();
    paint();
  });
  replay(data.replay);
  return {
    setDecoder(d) {
      decoder = d;
      status.textContent = "Every position is decoded in this page as you drag.";
      paint();
    },
    update(next) {
      const moved = JSON.stringify([next.points, next.modes]) !== JSON.stringify([data.points, data.modes]);
      data = next;
      scrub.max = legs();
      t = Math.min(t, legs());
      scrub.value = t;
      first.textContent = data.names[0];
      last.textContent = data.names[data.names.length - 1];
      show();
      if (moved) paint();
      replay(next.replay);
    },
  };
}

const VIEWS = { sliders: slidersView, probe: probeView, path: pathView };
const INSTANCES = new WeakMap();  // parentElement -> the view drawn in it (the JS re-runs when data changes)

export default function ({ data, parentElement, setStateValue }) {
  let view = INSTANCES.get(parentElement);
  if (view && (view.mode !== data.mode || view.model !== data.model)) {
    view.root.remove();
    view = null;
  }
  if (view) {
    view.env.setStateValue = setStateValue;
    view.update(data);
  } else {
    const root = el("div", { class: `le-pad le-${data.mode}`, "data-mode": data.mode });
    parentElement.appendChild(root);
    const env = { setStateValue };
    view = { ...VIEWS[data.mode](root, data, env), env, root, mode: data.mode, model: data.model };
    INSTANCES.set(parentElement, view);
    const current = view;
    whenDecoder(data.model).then((decoder) => current.setDecoder(decoder));
  }
  return () => {
    INSTANCES.delete(parentElement);
    view.root.remove();
  };
}
