"""A drawing canvas in the page: a components-v2 component with inline JS, no build step, nothing from a CDN.

Each finished stroke (pointer released) sends the whole canvas once as a PNG data URL, so drawing
costs one rerun per stroke, not one per mouse move. The PNG is then prepared like any upload.
"""

from __future__ import annotations

import base64
import binascii
import functools

import streamlit as st

CANVAS_SIDE = 280  # CSS pixels; the PNG has this many pixels a side too
STROKE_FRACTION = 0.07  # stroke width as a share of the side: about 2 pixels of a 28x28 digit
PNG_PREFIX = "data:image/png;base64,"
MAX_DATA_URL = 4 * 2**20  # characters: a 280x280 PNG is far smaller; anything bigger is not ours

HTML = """
<div class="pad">
  <canvas width="280" height="280" aria-label="drawing canvas"></canvas>
  <button type="button">Clear</button>
</div>
"""

CSS = """
.pad { display: flex; flex-direction: column; gap: 0.5rem; align-items: flex-start; }
canvas { width: 280px; height: 280px; border: 2px solid #888; border-radius: 4px; touch-action: none; cursor: crosshair; }
button { font: inherit; padding: 0.3rem 1rem; border: 1px solid #888; border-radius: 0.5rem; background: #fff; cursor: pointer; }
"""

JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  const canvas = parentElement.querySelector("canvas");
  const clear = parentElement.querySelector("button");
  const pen = canvas.getContext("2d");
  const paint = () => { pen.fillStyle = data.background; pen.fillRect(0, 0, canvas.width, canvas.height); };
  if (canvas.dataset.background !== data.background) { canvas.dataset.background = data.background; paint(); }
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [(e.clientX - box.left) * canvas.width / box.width, (e.clientY - box.top) * canvas.height / box.height];
  };
  let last = null;
  const line = (from, to) => {
    pen.strokeStyle = data.ink; pen.lineWidth = data.width; pen.lineCap = "round"; pen.lineJoin = "round";
    pen.beginPath(); pen.moveTo(from[0], from[1]); pen.lineTo(to[0], to[1]); pen.stroke();
  };
  canvas.onpointerdown = (e) => { last = at(e); canvas.setPointerCapture(e.pointerId); line(last, last); };
  canvas.onpointermove = (e) => { if (last) { const p = at(e); line(last, p); last = p; } };
  canvas.onpointerup = () => {
    if (!last) return;
    last = null;
    setTriggerValue("drawn", canvas.toDataURL("image/png"));
  };
  clear.onclick = paint;
}
"""


@functools.cache
def _component():
    """Registered once per process (a definition, like a function: no per-user state)."""
    return st.components.v2.component("latent_explorer_canvas", html=HTML, css=CSS, js=JS)


def png_from_data_url(url: object) -> bytes | None:
    """The PNG bytes of a 'data:image/png;base64,...' string from the canvas, or None for anything else."""
    if not isinstance(url, str) or not url.startswith(PNG_PREFIX) or len(url) > MAX_DATA_URL:
        return None
    try:
        return base64.b64decode(url[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None


def draw(dark_background: bool) -> bytes | None:
    """Show the canvas; return the PNG of a stroke just finished (only in the run it triggered), else None."""
    ink, background = ("#ffffff", "#000000") if dark_background else ("#000000", "#ffffff")
    result = _component()(key="drawing_canvas", on_drawn_change=lambda: None,
                          data={"ink": ink, "background": background, "width": round(CANVAS_SIDE * STROKE_FRACTION)})
    return png_from_data_url(getattr(result, "drawn", None))
