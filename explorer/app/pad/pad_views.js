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

// Scrub along the interpolation path from A to B; every position is decoded live (lerp or slerp, exact).
function pathView(root, data, env) {
  let decoder = null;
  let t = data.t;
  const z = () => pathPoint(data.a, data.b, t, data.interpolation);
  const canvas = imageCanvas(data.image_shape, data.side);
  const paint = painter(() => decoder, z, canvas);
  const report = reporter((name, value) => env.setStateValue(name, value), "z");
  const gesture = trail(() => [t]);
  const scrub = el("input", { type: "range", min: 0, max: 1, step: 0.001, "aria-label": "position along the path" });
  scrub.value = t;
  const readout = el("div", { class: "le-caption" });
  const show = () => {
    const frame = t * (data.steps - 1);
    readout.textContent = `t = ${t.toFixed(3)} · ${data.interpolation === "spherical" ? "slerp" : "linear"} · ` +
      `between frames ${Math.floor(frame) + 1} and ${Math.min(data.steps, Math.floor(frame) + 2)} of ${data.steps}`;
  };
  scrub.addEventListener("input", () => { t = Number(scrub.value); show(); paint(); gesture.add(); });
  scrub.addEventListener("change", () => report({ z: z(), t, source: "path", gesture: gesture.take() }));
  const ends = el("div", { class: "le-ends" }, el("span", { text: "A" }), scrub, el("span", { text: "B" }));
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
      const moved = next.a.join() !== data.a.join() || next.b.join() !== data.b.join() ||
        next.interpolation !== data.interpolation;
      data = next;
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
