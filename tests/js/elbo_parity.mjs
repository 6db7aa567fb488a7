// node tests/js/elbo_parity.mjs DECODER_MJS ENCODER_BLOB DECODER_BLOB X_F32 EPS_F32 OUT_F32
// For every image x in X_F32 and its eps in EPS_F32: the page's encoder gives mu and logvar, z = mu +
// exp(logvar / 2) * eps, and the page's decoder and likelihood give -log p(x|z); writes (recon, KL) per
// image (float64) to OUT_F32. Used by tests/test_decoder_js.py.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modulePath, encPath, decPath, xPath, epsPath, outPath] = process.argv.slice(2);
const { loadEncoder, loadDecoder, logLikelihood, klPerDim } = await import(pathToFileURL(modulePath).href);
const encoder = loadEncoder(new Uint8Array(readFileSync(encPath)));
const decoder = loadDecoder(new Uint8Array(readFileSync(decPath)));
const floats = (path) => { const b = readFileSync(path); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
const xs = floats(xPath), eps = floats(epsPath);
const size = encoder.imageShape.reduce((a, b) => a * b, 1), d = encoder.latentDim, n = xs.length / size;
const out = new Float64Array(2 * n);
for (let i = 0; i < n; i++) {
  const x = xs.subarray(i * size, (i + 1) * size);
  const { mu, logvar } = encoder.encode(x);
  const z = Array.from(mu, (m, k) => m + Math.exp(0.5 * logvar[k]) * eps[i * d + k]);
  out[2 * i] = -logLikelihood(encoder.likelihood, x, decoder.decodeRaw(z));
  out[2 * i + 1] = klPerDim(mu, logvar).reduce((a, b) => a + b, 0);
}
writeFileSync(outPath, Buffer.from(out.buffer));
