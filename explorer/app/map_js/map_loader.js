// The map's points loader: receives the map as bytes, once per model and projection, and registers it
// for the view (map_view.js). Shows nothing; its empty element carries the counts for tests.

const KEEP_MAPS = 4;

export default function ({ data, parentElement }) {
  const reg = mapRegistry();
  const map = readMap(data);
  const id = map.header.map_id;
  reg.received = (reg.received ?? 0) + 1;  // this runs only when the points' data reach the page
  if (!reg.maps[id]) {
    reg.loads += 1;
    reg.bytes += data.length;
    const kept = Object.keys(reg.maps).slice(-(KEEP_MAPS - 1));  // the last few: switching back is instant
    reg.maps = Object.fromEntries([...kept.map((k) => [k, reg.maps[k]]), [id, map]]);
    for (const resolve of reg.waiting[id] ?? []) resolve(map);
    delete reg.waiting[id];
  }
  let note = parentElement.querySelector(".le-map-points");
  if (!note) {
    note = document.createElement("div");
    note.className = "le-map-points";
    parentElement.appendChild(note);
  }
  note.dataset.mapId = id;
  note.dataset.loads = String(reg.loads);
  note.dataset.bytes = String(data.length);
}
