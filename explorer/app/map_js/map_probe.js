// The probe on the main map (inlined by explorer/app/scatter.py after pad_core.js, map_core.js and
// map_layers.js): a handle dragged over the map itself, and a panel in the map's corner with the
// decoder's image of the latent point under the handle, repainted at frame rate by the in-page decoder.
//
// The point is exact on invertible maps (PCA, a 2-D latent plane) and the mean code of the nearest
// points on t-SNE and UMAP (latentAt in map_layers.js), and the panel says which. Nothing is sent while
// the handle moves; on release (pointer up, or an arrow key let go) the spot goes to Python as the state
// "probe": {z, xy, exact, seq}, one rerun. The handle stays on its spot of the map while the view pans.

const PROBE_SIDE = 168, PROBE_SIDE_BIG = 232;  // CSS pixels of the probe's image, at most
const PROBE_SHARE = 0.3;  // and at most this share of the map's shorter side, so a small map stays visible

function createProbe(v, area) {
  const handle = node("div", "le-map-probe");
  handle.hidden = true;
  handle.tabIndex = 0;
  handle.title = "Drag me, or use the arrow keys (Shift: larger steps)";
  const panel = node("div", "le-map-probe-panel");
  panel.hidden = true;
  const caption = node("div", "le-map-probe-caption");
  panel.append(caption);
  area.append(handle, panel);
  v.probe = { on: false, handle, panel, caption, canvas: null, at: null, z: null, seq: 0, frames: 0,
              request: onceAFrame(() => paintProbe(v)) };
  // A recorded tour keeps the drag (the handle's spot in the map's own frame, so pans do not matter) and
  // plays it back through the same path (pad_core.js: trail, replayer).
  v.probe.gesture = trail(() => v.probe.at ?? [0, 0]);
  v.probe.replay = replayer(v.root, (at) => {
    if (!v.probe.on) setProbe(v, true);
    v.probe.at = at;
    placeProbe(v);
    requestProbePaint(v);
  });
  // Dragged over the map's canvas (its pixels are the probe's), from where it is; arrow keys as on the pads.
  draggable(handle, (x, y) => moveProbeTo(v, x, y), () => reportProbe(v), () => probeScreen(v), {
    frame: v.canvas,
    grab: false,
    onDrag: (on) => handle.classList.toggle("le-dragging", on),
  });
}

// The handle's place on screen, from its spot in the map's [-1, 1] square.
function probeScreen(v) {
  const f = screenFrame(v);
  return [f.x.gain * v.probe.at[0] + f.x.offset, f.y.gain * v.probe.at[1] + f.y.offset];
}

function placeProbe(v) {
  const p = v.probe;
  if (!p.on || !p.at || !v.plot) return;
  const [x, y] = probeScreen(v);
  const box = v.canvas.getBoundingClientRect();
  p.handle.hidden = x < -20 || y < -20 || x > box.width + 20 || y > box.height + 20;
  p.handle.style.transform = `translate(${x}px, ${y}px)`;
}

function moveProbeTo(v, sx, sy) {
  const box = v.canvas.getBoundingClientRect();
  const x = clamp(sx, 0, box.width), y = clamp(sy, 0, box.height);
  const f = screenFrame(v);
  v.probe.at = [(x - f.x.offset) / f.x.gain, (y - f.y.offset) / f.y.gain];
  placeProbe(v);
  requestProbePaint(v);
  v.probe.gesture.add();
}

function requestProbePaint(v) {
  v.probe.request();
}

function paintProbe(v) {
  const p = v.probe, decoder = atlasDecoder(v);
  if (!p.on || !p.at || !decoder) return;
  const box = v.canvas.getBoundingClientRect();
  const side = Math.round(Math.min(v.data.big ? PROBE_SIDE_BIG : PROBE_SIDE, PROBE_SHARE * Math.min(box.width, box.height)));
  if (!p.canvas || p.canvas.dataset.side !== String(side) || p.canvas.width !== decoder.imageShape[2]) {
    p.canvas = imageCanvas(decoder.imageShape, side);
    p.canvas.dataset.side = String(side);
    p.canvas.classList.add("le-map-probe-image");
    p.panel.replaceChildren(p.canvas, p.caption);
  }
  p.z = latentAt(v.map, p.at[0], p.at[1]);
  decodeAndPaint(decoder, p.z, p.canvas);
  p.frames += 1;
  v.root.dataset.probeFrames = String(p.frames);
}

function reportProbe(v) {
  const p = v.probe;
  if (!p.z || !v.setStateValue) return;
  const { frame, plane } = v.map.header;
  const xy = [p.at[0] * frame.scale + frame.centre[0], p.at[1] * frame.scale + frame.centre[1]];
  p.seq += 1;
  v.root.dataset.probeReports = String(p.seq);
  v.setStateValue("probe", { z: Array.from(p.z), xy, exact: plane.exact, seq: `${v.born}-p${p.seq}`,
                              gesture: p.gesture.take() });
}

function setProbe(v, on) {
  const p = v.probe;
  p.on = on;
  v.probeButton.classList.toggle("le-on", on);
  v.root.dataset.probe = on ? "on" : "off";
  p.handle.hidden = !on;
  p.panel.hidden = !on;
  if (!on) return;
  const plane = v.map.header.plane;
  const decoder = atlasDecoder(v);
  p.caption.textContent = !decoder
    ? (v.data.decoder ? "Waiting for the decoder..." : "No in-page decoder")
    : plane.exact ? "Probe: exact" : "Probe: approximate";
  p.panel.title = plane.exact
    ? "The decoder's image of the latent point under the handle."
    : `This map has no inverse: the image decodes the mean code of the ${plane.k} points nearest the handle.`;
  p.panel.classList.toggle("le-approximate", !plane.exact);
  if (!decoder && v.data.decoder) whenDecoder(v.data.decoder).then(() => p.on && setProbe(v, true));
  if (!p.at) {
    // Start on the picked point, else at the middle of the view.
    const box = v.canvas.getBoundingClientRect();
    const [sx, sy] = v.marked !== null ? v.plot.getScreenPosition(v.marked) : [box.width / 2, box.height / 2];
    const f = screenFrame(v);
    p.at = [(sx - f.x.offset) / f.x.gain, (sy - f.y.offset) / f.y.gain];
  }
  placeProbe(v);
  requestProbePaint(v);
}
