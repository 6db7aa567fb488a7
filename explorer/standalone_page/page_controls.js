// The standalone page's controls: one slider per latent dimension (most informative first), the A-to-B
// interpolation scrubber, and the saved tour's Play/Next. Each calls app.setZ; the picture follows.

const SCRUB_STEPS = 1000;       // positions of the interpolation's t in [0, 1]
const END_SIDE = 56;            // CSS pixels of A's and B's small pictures

function slidersPanel(host, data, app) {
  const rows = data.dims.map((d) => {
    const input = el("input", { type: "range", min: d.low, max: d.high, step: "any",  // a step grid would miss max by float rounding
                                "aria-label": d.label, "data-dim": d.index });
    const out = el("output", { text: "" });
    input.addEventListener("input", () => {
      const z = Array.from(app.z);
      z[d.index] = Number(input.value);
      app.setZ(z, { source: "slider" });
    });
    host.append(el("div", { class: "le-row" }, el("label", { text: d.label }), input, out));
    return { d, input, out };
  });
  if (data.dims_left_out) {
    host.append(el("div", { class: "le-note", text: `The ${data.dims.length} dimensions with the most KL; ` +
                            `${data.dims_left_out} more keep their value.` }));
  }
  return function sync(z) {
    for (const { d, input, out } of rows) {
      input.value = z[d.index];
      out.textContent = fmt(z[d.index]);
    }
  };
}

function interpolationPanel(host, data, app) {
  const ends = {};
  const picture = {
    a: imageCanvas(data.image_shape, END_SIDE), b: imageCanvas(data.image_shape, END_SIDE),
  };
  const setA = el("button", { text: "Set A", title: "A is the current picture's z" });
  const setB = el("button", { text: "Set B", title: "B is the current picture's z (or shift-click a point)" });
  const mode = el("select", { "aria-label": "interpolation" }, el("option", { value: "linear", text: "linear" }),
                  el("option", { value: "spherical", text: "spherical" }));
  const t = el("input", { type: "range", min: 0, max: 1, step: 1 / SCRUB_STEPS, value: 0, disabled: "",
                          "aria-label": "t", class: "le-scrub" });
  const tOut = el("output", { text: "t = 0.00" });
  const scrub = () => {
    if (!ends.a || !ends.b) return;
    tOut.textContent = `t = ${Number(t.value).toFixed(2)}`;
    app.setZ(pathPoint(ends.a.z, ends.b.z, Number(t.value), mode.value), { source: "path" });
  };
  t.addEventListener("input", scrub);
  mode.addEventListener("change", () => { app.redraw(); scrub(); });
  setA.addEventListener("click", () => app.setEnd("a", app.currentEnd()));
  setB.addEventListener("click", () => app.setEnd("b", app.currentEnd()));
  host.append(el("div", { class: "le-head" }, "Interpolate ", mode),
              el("div", { class: "le-buttons" }, setA, setB),
              el("div", { class: "le-ends" }, picture.a, el("span", { class: "le-arrow", text: "→" }), picture.b),
              el("div", { class: "le-row le-scrub-row" }, el("label", { text: "t" }), t, tOut));
  return {
    ends,
    mode: () => mode.value,
    set(which, end) {
      ends[which] = end;
      if (picture[which]) {
        const decoder = app.decoder();
        if (decoder) decodeAndPaint(decoder, end.z, picture[which]);
      }
      if (ends.a && ends.b) t.removeAttribute("disabled");
      t.value = which === "a" ? 0 : 1;
      tOut.textContent = `t = ${Number(t.value).toFixed(2)}`;
    },
  };
}

function tourPanel(host, data, app) {
  const stops = data.tour;
  const play = el("button", { text: "▶ Play", title: "Move through the saved tour's stops" });
  const next = el("button", { text: "Next ›", title: "Jump to the next stop" });
  const where = el("span", { class: "le-where" });
  const caption = el("div", { class: "le-tour-caption" });
  let at = -1, moving = null;
  // A "through" stop is a recorded drag's sample (explorer/tours.py): played, but not counted, and Next skips it.
  const real = stops.map((s, k) => k).filter((k) => !stops[k].through);
  const numberOf = (k) => Math.max(1, Math.min(real.filter((r) => r < k).length + 1, real.length));
  const show = () => {
    where.textContent = at < 0 ? `${real.length} stops` : `stop ${numberOf(at)} of ${real.length}`;
    caption.textContent = at < 0 ? "" : stops[at].caption;
    host.dataset.stop = String(at);
  };
  const arrive = (k) => {  // exactly the stop's z, whatever the animation's last frame was
    at = k;
    app.setZ(stops[k].z, { source: "tour" });
    show();
  };
  function moveTo(k, then) {
    const from = Array.from(app.z), to = stops[k].z, ms = 1000 * stops[k].seconds;
    const start = performance.now();
    at = k;
    show();
    const step = (now) => {
      if (moving !== step) return;  // stopped, or another move took over
      const s = Math.min(1, (now - start) / ms);
      if (s < 1) {
        app.setZ(from.map((v, i) => v + s * (to[i] - v)), { source: "tour" });
        requestAnimationFrame(step);
      } else {
        arrive(k);
        host.dataset.holding = "true";
        setTimeout(() => {  // the stop's hold: still at it, the Pause button still stops the tour
          if (moving !== step) return;
          host.dataset.holding = "false";
          moving = null;
          then();
        }, 1000 * (stops[k].hold || 0));
      }
    };
    moving = step;
    requestAnimationFrame(step);
  }
  const playFrom = (k) => {
    if (k >= stops.length) {
      play.textContent = "▶ Play";
      host.dataset.playing = "false";
      return;
    }
    moveTo(k, () => playFrom(k + 1));
  };
  play.addEventListener("click", () => {
    if (moving) {
      moving = null;
      host.dataset.holding = "false";
      play.textContent = "▶ Play";
      host.dataset.playing = "false";
      return;
    }
    play.textContent = "❚❚ Pause";
    host.dataset.playing = "true";
    playFrom(at + 1 < stops.length ? at + 1 : 0);
  });
  next.addEventListener("click", () => {
    moving = null;
    host.dataset.holding = "false";
    play.textContent = "▶ Play";
    host.dataset.playing = "false";
    arrive(real.find((k) => k > at) ?? real[0] ?? (at + 1) % stops.length);
  });
  if (!stops.length) {
    host.hidden = true;
    return;
  }
  host.append(el("div", { class: "le-head" }, "Tour ", where), el("div", { class: "le-buttons" }, play, next), caption);
  show();
}
