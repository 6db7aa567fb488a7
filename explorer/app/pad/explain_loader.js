// The encoder's loader (inlined after decoder.mjs and pad_core.js): receives the encoder blob as bytes,
// once per model, builds the in-page encoder and registers it for the Explain view (explain.js).

export default function ({ data, parentElement }) {
  const reg = registry();
  reg.encoders ??= {};
  reg.encoderWaiting ??= {};
  const note = loaderNote(parentElement);
  const { header } = readHeader(data);
  const id = header.model_id;
  if (!reg.encoders[id]) {
    const encoder = loadEncoder(data);
    reg.encoders = { [id]: encoder };  // the open model's only
    reg.encoderLoads = (reg.encoderLoads ?? 0) + 1;
    for (const resolve of reg.encoderWaiting[id] ?? []) resolve(encoder);
    delete reg.encoderWaiting[id];
  }
  note.dataset.bytes = String(data.length);
  note.textContent = `Encoding in this page: ${(data.length / 1e6).toFixed(1)} MB of weights, sent once.`;
}
