// The map's loader: receives the map's points, or their images, as bytes, once per map (the images once
// per model and subset), and registers them for the view (map_view.js). Shows nothing; its empty element
// carries the counts for tests.

const KEEP_MAPS = 4;
const KEEP_IMAGES = 4;  // images ids: a sheet and a map's tiles, for two maps

function note(parentElement) {
  let el = parentElement.querySelector(".le-map-points");
  if (!el) {
    el = document.createElement("div");
    el.className = "le-map-points";
    parentElement.appendChild(el);
  }
  return el;
}

// One part of an images id (its sheet, or a batch of tiles): decoded off the main thread, then its points'
// images are found through entry.where (point -> [part, k]), and the views are told to repaint.
function loadImages(data, parentElement) {
  const reg = mapRegistry();
  const { header, positions, png } = readImages(data);
  const id = header.images_id;
  note(parentElement).dataset.imagesId = id;
  const entry = (reg.images[id] ??= { parts: [], names: new Set(), where: new Map(), cells: new Set() });
  if (entry.names.has(header.part)) return;
  entry.names.add(header.part);
  reg.imageBytes += data.length;
  const index = entry.parts.push({ header, bitmap: null }) - 1;
  const decoded = header.n ? createImageBitmap(new Blob([png], { type: "image/png" })) : Promise.resolve(null);
  decoded.then((bitmap) => {
    entry.parts[index].bitmap = bitmap;
    positions.forEach((p, k) => entry.where.set(p, [index, k]));
    for (const cell of header.cells) entry.cells.add(cell);
    reg.imageLoads += 1;
    const kept = Object.keys(reg.images).filter((k) => k !== id).slice(-(KEEP_IMAGES - 1));
    reg.images = Object.fromEntries([...kept.map((k) => [k, reg.images[k]]), [id, entry]]);
    for (const repaint of reg.onImages) repaint();
  });
}

function loadValues(data, parentElement) {
  const reg = mapRegistry();
  const entry = readValues(data);
  const id = entry.header.values_id;
  note(parentElement).dataset.valuesId = id;
  reg.values ??= {};
  if (reg.values[id]) return;
  const kept = Object.keys(reg.values).slice(-(KEEP_MAPS - 1));
  reg.values = Object.fromEntries([...kept.map((k) => [k, reg.values[k]]), [id, entry]]);
  for (const resolve of (reg.valuesWaiting ?? {})[id] ?? []) resolve(entry);
  if (reg.valuesWaiting) delete reg.valuesWaiting[id];
}

export default function ({ data, parentElement }) {
  const magic = blobMagic(data);
  if (magic === IMAGES_MAGIC) {
    loadImages(data, parentElement);
    return;
  }
  if (magic === VALUES_MAGIC) {
    loadValues(data, parentElement);
    return;
  }
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
  const el = note(parentElement);
  el.dataset.mapId = id;
  el.dataset.loads = String(reg.loads);
  el.dataset.bytes = String(data.length);
}
