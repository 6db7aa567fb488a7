"""The reference of benchmarks/app_startup.py: a bare Streamlit page holding one Plotly scatter of the same points.

It reads the model's cached map (``embedding.npz``, the PCA coordinates and labels) with NumPy alone and
draws it as one WebGL scatter, as the app's map is drawn: what any Streamlit page showing this map must
cost, so the app's start-up is reported as a ratio to it. Served from the project root, so it gets the
same ``.streamlit/config.toml``. ``?model=<name>`` picks the model, as in the app.
"""

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

TRAINED = Path(__file__).resolve().parents[1] / "trained"

st.set_page_config(page_title="bare map", layout="wide")
model = st.query_params.get("model", "digits")
with np.load(TRAINED / model / "embedding.npz") as cached:
    xy, labels = cached["pca"], cached["labels"]
figure = go.Figure(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers",
                                marker={"color": labels, "colorscale": "Turbo", "size": 5}))
figure.update_layout(height=620, margin={"l": 10, "r": 10, "t": 10, "b": 10})
st.plotly_chart(figure, key="map")
