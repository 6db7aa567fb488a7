// node tests/js/decode_parity.mjs DECODER_MJS BLOB Z_F32 OUT_F32 TIMES_JSON
// Decodes every latent vector in Z_F32 (float32, row after row) with the in-page decoder and writes the
// images (float32) to OUT_F32, and per-decode milliseconds to TIMES_JSON. Used by tests/test_decoder_js.py.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [decoderPath, blobPath, zPath, outPath, timesPath] = process.argv.slice(2);
const { loadDecoder } = await import(pathToFileURL(decoderPath).href);
const decoder = loadDecoder(new Uint8Array(readFileSync(blobPath)));
const zBytes = readFileSync(zPath);
const zs = new Float32Array(zBytes.buffer, zBytes.byteOffset, zBytes.length / 4);
const n = zs.length / decoder.latentDim;
const size = decoder.imageShape.reduce((a, b) => a * b, 1);
const out = new Float32Array(n * size);
const times = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const image = decoder.decode(zs.subarray(i * decoder.latentDim, (i + 1) * decoder.latentDim));
  times.push(performance.now() - t0);
  out.set(image, i * size);
}
writeFileSync(outPath, Buffer.from(out.buffer));
writeFileSync(timesPath, JSON.stringify(times));
