// The standalone page's map: a 2-D canvas of the encoded test set, coloured by class; hover shows a point's
// thumbnail, a click picks it (shift-click sets it as B), and the probe ring drags through latent space.
// Uses pad_core.js (scatterLayer, drawMarker, pcaProject, pcaInverse, el, decodeAndPaint).

const POINT_AREA = 130;           // a point's radius is this over sqrt(points), clamped: 10,000 stay apart, 359 show
const POINT_RADIUS_RANGE = [2, 5]; // CSS pixels
const MAP_POINT_ALPHA = 0.85;     // overlapping classes stay visible through each other
const MAP_BACKGROUND = "#15171C"; // the page's dark panel: the light-on-dark images sit beside it
const HIT_RADIUS_PX = 12;         // a click or hover this close to a point is about that point
const PROBE_GRAB_PX = 22;         // a press this close to the probe ring drags it (the ring's arms are 21 px)
const CLICK_SLOP_PX = 4;          // a press that moves less than this is a click, not a drag
const PATH_STEPS = 48;            // segments of the interpolation path drawn on the map
const PROBE_COLOUR = "#111111", PATH_COLOUR = "#FFD24A", PICK_COLOUR = "#FFFFFF";
const TOOLTIP_SIDE = 112;         // CSS pixels of the hover thumbnail

// The map's plane: where a latent point lands (null when the map cannot place it) and which z a spot stands for.
function mapPlane(info, points, mu, latentDim) {
  if (info.kind === "pca") return { exact: true, place: (z) => pcaProject(info, z), inverse: (xy) => pcaInverse(info, xy) };
  if (info.kind === "latent") return { exact: true, place: (z) => [z[0], z[1]], inverse: (xy) => [xy[0], xy[1]] };
  return {  // a fitted map (t-SNE): the mean code of the k points nearest the spot, as Projection.local_code
    exact: false,
    place: () => null,
    inverse(xy) {
      const best = nearestPoints(points, xy, info.k);
      const z = new Array(latentDim).fill(0);
      for (const i of best) for (let d = 0; d < latentDim; d++) z[d] += mu[i * latentDim + d] / best.length;
      return z;
    },
  };
}

function nearestPoints(points, xy, k) {
  const best = [];  // [distance², index], sorted, at most k
  for (let i = 0; i < points.x.length; i++) {
    const d = (points.x[i] - xy[0]) ** 2 + (points.y[i] - xy[1]) ** 2;
    if (best.length < k || d < best[best.length - 1][0]) {
      best.push([d, i]);
      best.sort((a, b) => a[0] - b[0]);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b[1]);
}

function createMap(host, data, points, app) {
  const side = host.clientWidth;
  const dpr = window.devicePixelRatio || 1;
  const canvas = el("canvas", { class: "le-map-canvas", width: side * dpr, height: side * dpr,
                                "aria-label": "map of the test set: click a point to pick it, drag the ring to probe" });
  canvas.style.width = canvas.style.height = `${side}px`;
  const tooltipImage = el("canvas", { class: "le-tip-image" });
  tooltipImage.style.width = tooltipImage.style.height = `${TOOLTIP_SIDE}px`;
  const tooltipText = el("div", { class: "le-tip-text" });
  const tooltip = el("div", { class: "le-tip", hidden: "" }, tooltipImage, tooltipText);
  host.append(canvas, tooltip);
  const [x0, x1, y0, y1] = data.map.extent;
  const toPx = (x, y) => [((x - x0) / (x1 - x0)) * side, ((y1 - y) / (y1 - y0)) * side];
  const toMap = (px, py) => [x0 + (px / side) * (x1 - x0), y1 - (py / side) * (y1 - y0)];
  const colours = data.classes.map((c) => c.colour);
  const radius = clamp(POINT_AREA / Math.sqrt(points.x.length), ...POINT_RADIUS_RANGE);
  const layer = scatterLayer(points, colours, data.map.extent, side, side, dpr, radius, MAP_POINT_ALPHA);
  const ctx = canvas.getContext("2d");
  let hovered = -1;

  function nearestOnScreen(px, py) {
    let best = -1, bestD = HIT_RADIUS_PX ** 2;
    for (let i = 0; i < points.x.length; i++) {
      const [qx, qy] = toPx(points.x[i], points.y[i]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  function ring(i, colour, radius) {
    const [px, py] = toPx(points.x[i], points.y[i]);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = colour;
    ctx.beginPath();
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
    ctx.stroke();
  }

  function endLabel(xy, text) {
    if (!xy) return;
    const [px, py] = toPx(xy[0], xy[1]);
    ctx.font = "bold 18px system-ui, sans-serif";
    ctx.lineWidth = 4;
    ctx.strokeStyle = MAP_BACKGROUND;
    ctx.strokeText(text, px + 8, py - 8);
    ctx.fillStyle = PATH_COLOUR;
    ctx.fillText(text, px + 8, py - 8);
  }

  function drawPath() {
    const { a, b } = app.ends;
    if (!a || !b) return;
    ctx.lineWidth = 3;
    ctx.strokeStyle = PATH_COLOUR;
    ctx.beginPath();
    if (app.plane.exact) {  // the path itself, through latent space, where it lands on the plane (slerp curves)
      for (let s = 0; s <= PATH_STEPS; s++) {
        const [px, py] = toPx(...app.plane.place(pathPoint(a.z, b.z, s / PATH_STEPS, app.pathMode())));
        s ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
      }
    } else {  // a fitted map cannot place the path: a straight line between where A and B were set
      ctx.setLineDash([8, 6]);
      ctx.moveTo(...toPx(...a.xy));
      ctx.lineTo(...toPx(...b.xy));
    }
    ctx.stroke();
    ctx.setLineDash([]);
    endLabel(a.xy, "A");
    endLabel(b.xy, "B");
  }

  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = MAP_BACKGROUND;
    ctx.fillRect(0, 0, side, side);
    ctx.drawImage(layer, 0, 0, side, side);
    drawPath();
    if (app.picked >= 0) ring(app.picked, PICK_COLOUR, 7);
    if (hovered >= 0 && hovered !== app.picked) ring(hovered, PICK_COLOUR, 6);
    const xy = app.probeXY();
    if (xy) drawMarker(ctx, ...toPx(xy[0], xy[1]), PROBE_COLOUR);  // white halo, dark cross
  }

  function showTooltip(i, px, py) {
    tooltip.hidden = false;
    app.paintThumbnail(i, tooltipImage);
    tooltipText.textContent = `#${i} · ${data.classes[points.label[i]].name}` + (app.hasThumbnail(i) ? "" : " (its reconstruction)");
    const left = px + 18 + TOOLTIP_SIDE + 24 > side ? px - TOOLTIP_SIDE - 30 : px + 18;
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${Math.max(0, Math.min(side - TOOLTIP_SIDE - 40, py - TOOLTIP_SIDE / 2))}px`;
  }

  // One press: near the probe ring it drags the probe; elsewhere, released in place, it clicks the nearest point.
  let press = null;
  const local = (e) => {
    const box = canvas.getBoundingClientRect();
    return [e.clientX - box.left, e.clientY - box.top];
  };
  canvas.addEventListener("pointerdown", (e) => {
    const [px, py] = local(e);
    const xy = app.probeXY();
    const ringAt = xy && toPx(xy[0], xy[1]);
    const onRing = ringAt && (ringAt[0] - px) ** 2 + (ringAt[1] - py) ** 2 < PROBE_GRAB_PX ** 2;
    press = { px, py, probe: Boolean(onRing), moved: false, shift: e.shiftKey };
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  canvas.addEventListener("pointermove", (e) => {
    const [px, py] = local(e);
    if (press) {
      press.moved ||= (px - press.px) ** 2 + (py - press.py) ** 2 > CLICK_SLOP_PX ** 2;
      if (press.probe && press.moved) app.probe(toMap(clamp(px, 0, side), clamp(py, 0, side)));
      return;
    }
    const i = nearestOnScreen(px, py);
    if (i !== hovered) {
      hovered = i;
      app.redraw();
    }
    if (i >= 0) showTooltip(i, px, py);
    else tooltip.hidden = true;
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!press) return;
    const { probe, moved, shift } = press;
    press = null;
    if (probe && moved) return;
    const i = nearestOnScreen(...local(e));
    if (i < 0) return;
    if (shift) app.setEnd("b", app.pointEnd(i));
    else app.pick(i);
  });
  canvas.addEventListener("pointercancel", () => (press = null));
  canvas.addEventListener("pointerleave", () => {
    hovered = -1;
    tooltip.hidden = true;
    app.redraw();
  });

  return { canvas, draw, toPx, side };
}
