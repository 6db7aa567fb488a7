// Shared by the map's two components (inlined by explorer/app/scatter.py): the page-wide registry of
// map points and the reader of their binary blob.
//
// The points arrive once per model and projection in the loader component; the view component (small
// JSON per rerun: the pick, the selection) takes them from this registry, as the live views take the
// decoder (pad_core.js). One registry per browser tab.

const MAP_MAGIC = "LEMAP\u0000\u0001\u0000";
const IMAGES_MAGIC = "LEIMG\u0000\u0001\u0000";
const VALUES_MAGIC = "LEVAL\u0000\u0001\u0000";

function mapRegistry() {
  globalThis.__latentExplorerMap ??= { maps: {}, waiting: {}, images: {}, loads: 0, bytes: 0, views: 0, draws: 0,
                                       imageLoads: 0, imageBytes: 0, onImages: new Set() };
  return globalThis.__latentExplorerMap;
}

// One number per point (a per-image score, scatter.py: values_blob): header, then float32 in [0, 1], then
// the numbers themselves.
function readValues(bytes) {
  const { header, start } = readFramed(bytes, VALUES_MAGIC, "values");
  const body = bytes.slice(start, start + 8 * header.n).buffer;
  return { header, values: new Float32Array(body, 0, header.n), raw: new Float32Array(body, 4 * header.n, header.n) };
}

function whenValues(id) {
  const reg = mapRegistry();
  reg.values ??= {};
  if (reg.values[id]) return Promise.resolve(reg.values[id]);
  return new Promise((resolve) => ((reg.valuesWaiting ??= {})[id] ??= []).push(resolve));
}

function whenMap(id) {
  const reg = mapRegistry();
  if (reg.maps[id]) return Promise.resolve(reg.maps[id]);
  return new Promise((resolve) => (reg.waiting[id] ??= []).push(resolve));
}

function blobMagic(bytes) {
  return String.fromCharCode(...bytes.subarray(0, 8));
}

// The framing every blob of the map shares (scatter.py: _framed): magic (8 bytes), header length
// (uint32), the JSON header padded to 4 bytes, then the body. -> {header, start} (where the body starts).
function readFramed(bytes, magic, what) {
  if (blobMagic(bytes) !== magic) throw new Error(`not a Latent Explorer ${what} blob`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))), start: 12 + length };
}

// Images of a map's points (explorer/app/scatter.py: images_blob), one part of an images id: magic, header
// length (uint32), the JSON header padded to 4 bytes ({images_id, part, cells, n, width, height, cols}), the
// positions (int32, n: indices into the map's ids), then one PNG sheet (absent when n is 0): image k, of
// the point at positions[k], is at column k % cols, row k // cols.
function readImages(bytes) {
  const { header, start } = readFramed(bytes, IMAGES_MAGIC, "images");
  const png = start + 4 * header.n;
  return { header, positions: new Int32Array(bytes.slice(start, png).buffer), png: bytes.slice(png) };
}

// Where the image of point p of a map is, from the images ids ``ids`` (its sheet, then its tiles), or null:
// [bitmap, x, y, width, height] in the sheet that holds it.
function imageAt(ids, p) {
  const reg = mapRegistry();
  for (const id of ids) {
    const entry = id && reg.images[id];
    const at = entry && entry.where.get(p);
    if (!at) continue;
    const { bitmap, header } = entry.parts[at[0]];
    const { width: w, height: h, cols } = header;
    return [bitmap, (at[1] % cols) * w, Math.floor(at[1] / cols) * h, w, h];
  }
  return null;
}

// Blob layout (explorer/app/scatter.py, little-endian): magic (8 bytes), header length (uint32), the
// JSON header padded to 4 bytes, then x and y in [-1, 1] (float32, n each), test-set ids (int32, n),
// class indices (uint16, n, padded to 4 bytes; the header's classes, the last one "unlabelled" when there
// is one) and, when the header's code_dim is not 0, the points' latent codes (float32, n x code_dim).
function readMap(bytes) {
  const { header, start } = readFramed(bytes, MAP_MAGIC, "map");
  const n = header.n;
  // Copy into an aligned buffer: the Uint8Array may start at any offset of the message.
  const body = bytes.slice(start).buffer;
  return {
    header,
    x: new Float32Array(body, 0, n),
    y: new Float32Array(body, 4 * n, n),
    ids: new Int32Array(body, 8 * n, n),
    labels: new Uint16Array(body, 12 * n, n),
    codes: header.code_dim ? new Float32Array(body, 12 * n + 2 * (n + (n % 2)), n * header.code_dim) : null,
  };
}
