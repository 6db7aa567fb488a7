// The weights loader: receives the decoder blob as bytes (a Uint8Array), once per model, builds the
// decoder and registers it on window for the live views (pad_views.js) of this browser tab.

export default function ({ data, parentElement }) {
  const reg = registry();
  const note = loaderNote(parentElement);
  const { header } = readHeader(data);
  const id = header.model_id;
  if (!reg.decoders[id]) {
    const t0 = performance.now();
    const decoder = loadDecoder(data);
    reg.loads += 1;
    reg.decoders = { [id]: decoder };  // keep only the open model's decoder
    for (const resolve of reg.waiting[id] ?? []) resolve(decoder);
    delete reg.waiting[id];
    reg.loadMs = performance.now() - t0;
  }
  note.dataset.loads = String(reg.loads);
  note.dataset.bytes = String(data.length);
  note.textContent = `Live decoding in this page: ${(data.length / 1e6).toFixed(1)} MB of weights, sent once.`;
}
