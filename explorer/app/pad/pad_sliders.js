// The live sliders view: the decoded image, a 2-D pad over a plane, and one slider per latent dimension.
// Every move decodes in the page; z goes back to Python on release only.

const PAD_SIDE = 300;  // CSS pixels of the 2-D pad

function slidersView(root, data, env) {
  const z = Float64Array.from(data.z);
  let decoder = null;
  const canvas = imageCanvas(data.image_shape, data.side);
  const paint = painter(() => decoder, () => z, canvas);
  const report = reporter((name, value) => env.setStateValue(name, value), "z");
  const gesture = trail(() => Array.from(z));
  let lastReported = Array.from(z);
  const release = () => {
    lastReported = Array.from(z);
    report({ z: lastReported, source: "sliders", gesture: gesture.take() });
  };

  // Sliders, most informative first; collapsed ones hidden until asked for.
  const rows = data.dims.map((d) => {
    const input = el("input", { type: "range", min: d.low, max: d.high, step: (d.high - d.low) / 400,
                                "aria-label": d.label, "data-dim": d.index });
    input.value = z[d.index];
    const out = el("output", { text: fmt(z[d.index]) });
    input.addEventListener("input", () => {
      z[d.index] = Number(input.value);
      out.textContent = fmt(z[d.index]);
      drawPad();
      paint();
      gesture.add();
    });
    input.addEventListener("change", release);  // pointer release, or a key press
    const row = el("div", { class: d.active ? "le-row" : "le-row le-collapsed" },
                   el("label", { text: d.label }), input, out);
    return { d, input, out, row };
  });
  const syncSliders = () => rows.forEach(({ d, input, out }) => {
    input.value = z[d.index];
    out.textContent = fmt(z[d.index]);
  });
  const collapsed = data.dims.filter((d) => !d.active).length;
  const showCollapsed = el("input", { type: "checkbox" });
  const toggle = el("label", { class: "le-toggle" }, showCollapsed,
                    ` Show ${collapsed} collapsed dimension${collapsed === 1 ? "" : "s"} (KL ≈ 0: the decoder ignores them)`);
  if (!collapsed) toggle.hidden = true;
  const list = el("div", { class: "le-list le-hide-collapsed" }, ...rows.map((r) => r.row));
  showCollapsed.addEventListener("change", () => list.classList.toggle("le-hide-collapsed", !showCollapsed.checked));

  const setZ = (values) => {
    values.forEach((v, i) => (z[i] = v));
    syncSliders();
    drawPad();
    paint();
    release();
  };
  const reset = el("button", { text: "Reset", title: "Back to the starting point" });
  reset.addEventListener("click", () => setZ(data.reset_z));
  const random = el("button", { text: "Random", title: "A draw from the prior N(0, I), clipped to the sliders" });
  random.addEventListener("click", () => {
    const gauss = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
    const ranges = Object.fromEntries(data.dims.map((d) => [d.index, [d.low, d.high]]));
    setZ(Array.from(z, (_, i) => clamp(gauss(), ...(ranges[i] ?? [-3, 3]))));
  });

  // The 2-D pad: the map's PCA plane (mapped back with the inverse PCA), or any two latent dimensions.
  const dpr = window.devicePixelRatio || 1;
  const pad = el("canvas", { class: "le-plane", width: PAD_SIDE * dpr, height: PAD_SIDE * dpr,
                             "aria-label": "2-D pad: drag, or use the arrow keys, to move through the plane" });
  const planeChoice = el("select", { "aria-label": "plane" },
                         el("option", { value: "pca", text: "the map's PCA plane" }),
                         el("option", { value: "dims", text: "two latent dimensions" }));
  const dimOptions = () => data.dims.map((d) => el("option", { value: d.index, text: d.short }));
  const xDim = el("select", { "aria-label": "x dimension" }, ...dimOptions());
  const yDim = el("select", { "aria-label": "y dimension" }, ...dimOptions());
  const byIndex = Object.fromEntries(data.dims.map((d) => [d.index, d]));
  planeChoice.value = data.plane_default;
  xDim.value = data.dims[0].index;
  yDim.value = data.dims[Math.min(1, data.dims.length - 1)].index;
  const dimPickers = el("div", { class: "le-dim-pickers" }, "x ", xDim, " y ", yDim);
  const padNote = el("div", { class: "le-caption" });
  let background = null;

  function padExtent() {
    if (planeChoice.value === "pca") return data.pca.extent;
    const dx = byIndex[xDim.value], dy = byIndex[yDim.value];
    return [dx.low, dx.high, dy.low, dy.high];
  }
  function padPoint() {
    if (planeChoice.value === "pca") return pcaProject(data.pca, z);
    return [z[Number(xDim.value)], z[Number(yDim.value)]];
  }
  function drawPad() {
    const ctx = pad.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#F7F8FA";
    ctx.fillRect(0, 0, PAD_SIDE, PAD_SIDE);
    if (planeChoice.value === "pca" && background) ctx.drawImage(background, 0, 0, PAD_SIDE, PAD_SIDE);
    ctx.strokeStyle = "#D5D9E0";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let k = 1; k < 4; k++) {
      ctx.moveTo((k * PAD_SIDE) / 4, 0); ctx.lineTo((k * PAD_SIDE) / 4, PAD_SIDE);
      ctx.moveTo(0, (k * PAD_SIDE) / 4); ctx.lineTo(PAD_SIDE, (k * PAD_SIDE) / 4);
    }
    ctx.stroke();
    const [x0, x1, y0, y1] = padExtent();
    const [x, y] = padPoint();
    drawMarker(ctx, ((x - x0) / (x1 - x0)) * PAD_SIDE, ((y1 - y) / (y1 - y0)) * PAD_SIDE, "#1F4E9E");
    padNote.textContent = planeChoice.value === "pca"
      ? `PCA plane of the map: (${fmt(x)}, ${fmt(y)}). Dragging puts z on this plane.`
      : `${byIndex[xDim.value].short} = ${fmt(x)}, ${byIndex[yDim.value].short} = ${fmt(y)}; the other dimensions stay.`;
  }
  draggable(pad, (px, py, w, h) => {
    const [x0, x1, y0, y1] = padExtent();
    const x = x0 + clamp(px / w, 0, 1) * (x1 - x0), y = y1 - clamp(py / h, 0, 1) * (y1 - y0);
    if (planeChoice.value === "pca") pcaInverse(data.pca, [x, y]).forEach((v, i) => (z[i] = v));
    else { z[Number(xDim.value)] = x; z[Number(yDim.value)] = y; }
    syncSliders();
    drawPad();
    paint();
    gesture.add();
  }, release, (w, h) => {
    const [x0, x1, y0, y1] = padExtent();
    const [x, y] = padPoint();
    return [((x - x0) / (x1 - x0)) * w, ((y1 - y) / (y1 - y0)) * h];
  });
  const onPlane = () => {
    dimPickers.hidden = planeChoice.value !== "dims";
    drawPad();
  };
  [planeChoice, xDim, yDim].forEach((s) => s.addEventListener("change", onPlane));
  background = data.pca.points ? scatterLayer(data.pca.points, data.colours, data.pca.extent, PAD_SIDE, PAD_SIDE,
                                              dpr, 2, 0.5) : null;

  const status = el("div", { class: "le-caption le-status", text: "Loading the decoder into the page..." });
  root.append(
    el("div", { class: "le-top" },
       el("div", { class: "le-col" }, canvas, el("div", { class: "le-caption", text: data.caption })),
       el("div", { class: "le-col" }, el("div", { class: "le-head" }, "2-D pad on ", planeChoice), dimPickers, pad,
          padNote),
       el("div", { class: "le-col le-grow" }, el("div", { class: "le-buttons" }, reset, random), toggle, status)),
    list,
  );
  onPlane();
  const replay = replayer(root, (values) => {  // a recorded drag, played back: z moves as it did
    values.forEach((v, i) => (z[i] = v));
    lastReported = Array.from(z);
    syncSliders();
    drawPad();
    paint();
  });
  replay(data.replay);

  return {
    setDecoder(d) {
      decoder = d;
      status.textContent = "Decoded in this page while you drag; z goes to the server when you let go. "
        + "The pad also takes the arrow keys (Shift: big steps).";
      paint();
    },
    update(next) {
      data = { ...data, reset_z: next.reset_z };
      const echo = next.z.every((v, i) => Math.abs(v - lastReported[i]) < 1e-4);  // float32 on the way back
      if (!echo) {  // the server moved z (another view, or a reset there): follow it
        next.z.forEach((v, i) => (z[i] = v));
        lastReported = Array.from(z);
        syncSliders();
        drawPad();
        paint();
      }
      replay(next.replay);
    },
  };
}
