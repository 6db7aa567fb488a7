// node tests/js/encode_parity.mjs DECODER_MJS BLOB X_F32 OUT_F32 TIMES_JSON
// Encodes every image in X_F32 (float32, (C, H, W) after (C, H, W)) with the in-page encoder and writes
// mu then logvar per image (float32, 2D each) to OUT_F32, and per-encode milliseconds to TIMES_JSON.
// Used by tests/test_decoder_js.py.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, blobPath, xPath, outPath, timesPath] = process.argv.slice(2);
const { loadEncoder } = await import(pathToFileURL(modulePath).href);
const encoder = loadEncoder(new Uint8Array(readFileSync(blobPath)));
const xBytes = readFileSync(xPath);
const xs = new Float32Array(xBytes.buffer, xBytes.byteOffset, xBytes.length / 4);
const size = encoder.imageShape.reduce((a, b) => a * b, 1), d = encoder.latentDim;
const n = xs.length / size;
const out = new Float32Array(n * 2 * d);
const times = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const { mu, logvar } = encoder.encode(xs.subarray(i * size, (i + 1) * size));
  times.push(performance.now() - t0);
  out.set(mu, i * 2 * d);
  out.set(logvar, i * 2 * d + d);
}
writeFileSync(outPath, Buffer.from(out.buffer));
writeFileSync(timesPath, JSON.stringify(times));
