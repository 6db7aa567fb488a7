// The map's points loader: receives the map as bytes, once per model and projection, and registers it
// for the view (map_view.js). Shows nothing.

export default function ({ data, parentElement }) {
  const reg = mapRegistry();
  const map = readMap(data);
  const id = map.header.map_id;
  reg.received = (reg.received ?? 0) + 1;  // this runs only when the points' data reach the page
  if (!reg.maps[id]) {
    reg.loads += 1;
    reg.bytes += data.length;
    reg.maps = { ...reg.maps, [id]: map };
    for (const resolve of reg.waiting[id] ?? []) resolve(map);
    delete reg.waiting[id];
  }
  parentElement.dataset.mapId = id;
  parentElement.dataset.loads = String(reg.loads);
  parentElement.dataset.bytes = String(data.length);
}
