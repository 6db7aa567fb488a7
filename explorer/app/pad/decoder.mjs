// The VAE decoder, and its encoder, in plain JavaScript: runs the blobs packed by explorer/app/weights_blob.py.
//
// One file for two users: the app inlines it into the component's module (no imports: inline JS loads
// from a blob: URL), and the parity test imports it from node. No DOM, no dependencies.
// Activations between layers are kept channel-last (H, W, C) in Float64Arrays, so the inner loops of
// the transposed convolution run over contiguous channels; sums are taken in double precision.

const MAGIC = "LEXD";

function readFloats(bytes, start, count) {
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (little) return new Float32Array(bytes.slice(start, start + 4 * count).buffer);  // slice: aligned copy
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, 4 * count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export function readHeader(bytes) {
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== MAGIC) throw new Error("not a Latent Explorer decoder blob");
  const length = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  return { header, dataStart: 8 + length };
}

function linear(spec, floats, shape) {
  const nIn = spec.in, nOut = spec.out;
  const weightT = new Float32Array(nIn * nOut);  // (in, out): one input's weights are contiguous
  for (let o = 0; o < nOut; o++) {
    for (let i = 0; i < nIn; i++) weightT[i * nOut + o] = floats[spec.weight + o * nIn + i];
  }
  const bias = floats.subarray(spec.bias, spec.bias + nOut);
  const out = new Float64Array(nOut);
  return {
    shape: { flat: nOut },
    run(x) {
      for (let o = 0; o < nOut; o++) out[o] = bias[o];
      for (let i = 0; i < nIn; i++) {
        const xi = x[i];
        if (xi === 0) continue;  // ReLU leaves many zeros: skip their rows
        const base = i * nOut;
        for (let o = 0; o < nOut; o++) out[o] += xi * weightT[base + o];
      }
      return out;
    },
  };
}

function reshape(spec, floats, shape) {
  const [c, h, w] = spec.shape;  // torch's view (or the encoder's input image): (C, H, W) order in, channel-last out
  const out = new Float64Array(c * h * w);
  return {
    shape: { c, h, w },
    run(x) {
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < h * w; p++) out[p * c + ch] = x[ch * h * w + p];
      }
      return out;
    },
  };
}

function convTranspose2d(spec, floats, shape) {
  const { kernel: k, stride: s, padding: pad } = spec;
  const cIn = spec.in, cOut = spec.out, hIn = shape.h, wIn = shape.w;
  const hOut = (hIn - 1) * s - 2 * pad + k + spec.output_padding[0];
  const wOut = (wIn - 1) * s - 2 * pad + k + spec.output_padding[1];
  const weightT = new Float32Array(cIn * k * k * cOut);  // (in, kH, kW, out) from torch's (in, out, kH, kW)
  for (let ci = 0; ci < cIn; ci++) {
    for (let co = 0; co < cOut; co++) {
      for (let t = 0; t < k * k; t++) {
        weightT[(ci * k * k + t) * cOut + co] = floats[spec.weight + (ci * cOut + co) * k * k + t];
      }
    }
  }
  const bias = floats.subarray(spec.bias, spec.bias + cOut);
  const out = new Float64Array(hOut * wOut * cOut);
  return {
    shape: { c: cOut, h: hOut, w: wOut },
    run(x) {
      for (let p = 0; p < hOut * wOut; p++) {
        for (let co = 0; co < cOut; co++) out[p * cOut + co] = bias[co];
      }
      // Scatter form: every input value adds its kernel, scaled, to a k x k patch of the output.
      for (let iy = 0; iy < hIn; iy++) {
        for (let ix = 0; ix < wIn; ix++) {
          const inBase = (iy * wIn + ix) * cIn;
          for (let ci = 0; ci < cIn; ci++) {
            const v = x[inBase + ci];
            if (v === 0) continue;
            for (let ky = 0; ky < k; ky++) {
              const oy = iy * s - pad + ky;
              if (oy < 0 || oy >= hOut) continue;
              for (let kx = 0; kx < k; kx++) {
                const ox = ix * s - pad + kx;
                if (ox < 0 || ox >= wOut) continue;
                const o = (oy * wOut + ox) * cOut;
                const wb = (ci * k * k + ky * k + kx) * cOut;
                for (let co = 0; co < cOut; co++) out[o + co] += v * weightT[wb + co];
              }
            }
          }
        }
      }
      return out;
    },
  };
}

function conv2d(spec, floats, shape) {
  const { kernel: k, stride: s, padding: pad } = spec;
  const cIn = spec.in, cOut = spec.out, hIn = shape.h, wIn = shape.w;
  const hOut = Math.floor((hIn + 2 * pad - k) / s) + 1, wOut = Math.floor((wIn + 2 * pad - k) / s) + 1;
  const weightT = new Float32Array(k * k * cIn * cOut);  // (kH, kW, in, out) from torch's (out, in, kH, kW)
  for (let co = 0; co < cOut; co++) {
    for (let ci = 0; ci < cIn; ci++) {
      for (let t = 0; t < k * k; t++) weightT[(t * cIn + ci) * cOut + co] = floats[spec.weight + (co * cIn + ci) * k * k + t];
    }
  }
  const bias = floats.subarray(spec.bias, spec.bias + cOut);
  const out = new Float64Array(hOut * wOut * cOut);
  return {
    shape: { c: cOut, h: hOut, w: wOut },
    run(x) {
      // Gather form: every output position sums its k x k input patch against the kernel.
      for (let oy = 0; oy < hOut; oy++) {
        for (let ox = 0; ox < wOut; ox++) {
          const o = (oy * wOut + ox) * cOut;
          for (let co = 0; co < cOut; co++) out[o + co] = bias[co];
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * s - pad + ky;
            if (iy < 0 || iy >= hIn) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * s - pad + kx;
              if (ix < 0 || ix >= wIn) continue;
              const inBase = (iy * wIn + ix) * cIn, wb = (ky * k + kx) * cIn * cOut;
              for (let ci = 0; ci < cIn; ci++) {
                const v = x[inBase + ci];
                if (v === 0) continue;
                const w = wb + ci * cOut;
                for (let co = 0; co < cOut; co++) out[o + co] += v * weightT[w + co];
              }
            }
          }
        }
      }
      return out;
    },
  };
}

function flatten(spec, floats, shape) {
  const { c, h, w } = shape;  // channel-last in, torch's (C, H, W) order out, as nn.Flatten sees it
  const out = new Float64Array(c * h * w);
  return {
    shape: { flat: c * h * w },
    run(x) {
      for (let p = 0; p < h * w; p++) {
        for (let ch = 0; ch < c; ch++) out[ch * h * w + p] = x[p * c + ch];
      }
      return out;
    },
  };
}

function gaussianPosterior(spec, floats, shape) {
  const d = spec.latent_dim;  // the encoder's 2D outputs: mu, then logvar (VAE.encode's chunk(2))
  return { shape: { flat: 2 * d }, run: (x) => ({ mu: x.slice(0, d), logvar: x.slice(d, 2 * d) }) };
}

function activation(fn) {
  return (spec, floats, shape) => ({
    shape,
    run(x) {
      for (let i = 0; i < x.length; i++) x[i] = fn(x[i]);
      return x;
    },
  });
}

function sigmoidMean(spec, floats, shape) {
  // The mean image: sigmoid of the first C channels (Bernoulli logits, or a Gaussian's mean channels).
  const c = spec.channels, total = shape.c, hw = shape.h * shape.w;
  const image = new Float32Array(c * hw);  // (C, H, W), like torch
  return {
    shape: { c, h: shape.h, w: shape.w },
    run(x) {
      for (let p = 0; p < hw; p++) {
        for (let ch = 0; ch < c; ch++) image[ch * hw + p] = 1 / (1 + Math.exp(-x[p * total + ch]));
      }
      return image;
    },
  };
}

const OPS = {
  linear,
  reshape,
  conv_transpose2d: convTranspose2d,
  relu: activation((v) => (v > 0 ? v : 0)),
  silu: activation((v) => v / (1 + Math.exp(-v))),
  sigmoid_mean: sigmoidMean,
  conv2d,
  flatten,
  gaussian_posterior: gaussianPosterior,
};

export const SUPPORTED_OPS = Object.keys(OPS);

function build(bytes, format, inputSize) {
  const { header, dataStart } = readHeader(bytes);
  if (header.format !== format || header.version !== 1) {
    throw new Error(`unsupported blob (format ${header.format}, version ${header.version}; expected ${format})`);
  }
  const floats = readFloats(bytes, dataStart, header.floats);
  let shape = { flat: inputSize(header) };
  const layers = header.layers.map((spec) => {
    const make = OPS[spec.op];
    if (!make) throw new Error(`the browser has no layer "${spec.op}"`);
    const layer = make(spec, floats, shape);
    shape = layer.shape;
    return layer;
  });
  const input = new Float64Array(inputSize(header));
  const run = (values, upTo = layers.length) => {
    for (let i = 0; i < input.length; i++) input[i] = values[i];
    let x = input;
    for (let k = 0; k < upTo; k++) x = layers[k].run(x);
    return x;
  };
  return { header, run, depth: layers.length };
}

// bytes (Uint8Array) -> { latentDim, imageShape: [C, H, W], decode(z) -> Float32Array (C*H*W) in [0, 1] }.
// decode() reuses its output buffer: copy it to keep an image.
// decodeRaw(z): the decoder's raw output before its link (logits, or a Gaussian's mean and log-sigma
// channels), channel-last (H*W, P*C), Float64: what logLikelihood scores an image against.
export function loadDecoder(bytes) {
  const { header, run, depth } = build(bytes, "latent-explorer-decoder", (h) => h.latent_dim);
  return { latentDim: header.latent_dim, imageShape: header.image_shape, bytes: bytes.length, decode: (z) => run(z),
           decodeRaw: (z) => run(z, depth - 1) };
}

const LOG_2PI = Math.log(2 * Math.PI);

// log p(x|z) summed over pixels, as VAE.log_likelihood: x in torch's (C, H, W) order, raw from decodeRaw,
// spec the encoder blob's header.likelihood. Bernoulli: minus the binary cross-entropy with logits
// (pixels as soft targets); Gaussian: the mean is the sigmoid of the first C channels, log-sigma the next C
// (or one shared value), clamped below at min_log_sigma.
export function logLikelihood(spec, x, raw) {
  const c = spec.channels, hw = x.length / c, total = raw.length / hw;
  let sum = 0;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < c; ch++) {
      const v = x[ch * hw + p], out = raw[p * total + ch];
      if (spec.kind === "bernoulli") {
        sum -= Math.max(out, 0) - out * v + Math.log1p(Math.exp(-Math.abs(out)));
      } else {
        const mean = 1 / (1 + Math.exp(-out));
        const ls = Math.max(spec.scale === "shared" ? spec.log_sigma : raw[p * total + c + ch], spec.min_log_sigma);
        const d = (v - mean) * Math.exp(-ls);
        sum += -0.5 * LOG_2PI - ls - 0.5 * d * d;
      }
    }
  }
  return sum;
}

// KL(N(mu, exp(logvar)) || N(0, 1)) per dimension, closed form (objectives.kl_to_standard_normal).
export function klPerDim(mu, logvar) {
  return Array.from(mu, (m, i) => 0.5 * (m * m + Math.exp(logvar[i]) - 1 - logvar[i]));
}

// bytes -> { latentDim, imageShape, encode(x) -> {mu, logvar} (Float64Array, D each, fresh per call) }:
// x is an image in torch's (C, H, W) order, pixels in [0, 1], as VAE.encode takes it.
export function loadEncoder(bytes) {
  const { header, run } = build(bytes, "latent-explorer-encoder", (h) => h.image_shape.reduce((a, b) => a * b, 1));
  return { latentDim: header.latent_dim, imageShape: header.image_shape, bytes: bytes.length, encode: run,
           likelihood: header.likelihood, modelId: header.model_id };
}
