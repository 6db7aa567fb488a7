"""Per-user state: every session-state key the app uses, its default, and how values survive.

Streamlit forgets a widget's value when the widget is not drawn in a run (another tab is open, a
collapsed dimension is hidden). So each remembered value lives under its plain name, and its widget
uses the key ``w:<name>``: ``widget(name)`` restores the widget from the plain value and copies every
change back. Nothing lives at module level: every browser session has its own ``st.session_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import streamlit as st

from explorer.embedding import TSNE_PERPLEXITY as DEFAULT_PERPLEXITY

# Keys of values that are not widgets.
MODEL = "model"  # path (str) of the checkpoint the state below belongs to
PICK = "pick"  # index of the picked data point, or None
MAP_MARKED = "map_marked"  # the pick baked into the map figure (changes only when a rerender is fine)
SLIDER_BASE = "slider_base"  # latent vector the sliders start from and "reset" returns to
SLIDER_FROM = "slider_from"  # what SLIDER_BASE is, in words ("test image #7", "your image a.png"), or None
MAP_SELECTION = "map_selection"  # ids of the points in the map's last selection (a click, box or lasso)
UPLOAD = "upload"  # the user's own image: session.Upload, kept across models (re-prepared for each), or None
UPLOAD_ERROR = "upload_error"  # the message about the last refused file, or None
UPLOAD_ENCODED = "upload_encoded"  # session.Encoded: the upload prepared and encoded for the open model
UPLOAD_SEEN = "upload_seen"  # file id of the last file taken from the uploader, so each file is read once
MAP_SEEN = "map_seen"  # ids of the map selection last taken, so a click is taken once
MAP_WEBGL_SEEN = "map_webgl_seen"  # seq of the WebGL map's gesture last taken, so each is taken once
MAP_PNG = "map_png"  # (what the figure showed, PNG bytes): the last map rendered as PNG in this session
URL_RESTORED = "restored_from_url"  # set once per session: the URL is applied when the session starts only
RANDOM_DRAWS = "random_draws"  # how many prior draws the sliders' Random button made (each its own seed)
TOUR = "tour"  # saved views of this session: query-parameter dicts, in order
TOUR_AT = "tour_at"  # index of the view the tour showed last
TOUR_LAST = "tour_last"  # time.monotonic() of the last stop, so a page rerun does not advance the tour
RECORDED = "recorded_tour"  # the recorded (or loaded) tour: explorer.app.recording.Tour, or None
RECORDING_SINCE = "recording_since"  # time.monotonic() when the recording started, or None: not recording
PLAYBACK = "tour_playback"  # a playing recording: {"start": monotonic, "done": steps applied, "applied": [s, ...]}
PLAYED = "tour_played"  # the last playback's drift against the recorded times (recording.drift), or None
GESTURE = "gesture"  # the drag a live view reported in this run ({"source", "samples"}), for the recording, or None
REPLAY = "replay"  # the recorded drag a live view plays back now: {"id", "source", "samples"}, or None
REPLAY_FRESH = "replay_fresh"  # REPLAY was set in this run: the next run clears it (its view has it by then)
TOUR_VIDEO = "tour_video"  # the recorded tour's last rendered video: (what it is of, bytes, file name, mime), or None
# Keys of components (their state: what the page last reported).
DECODER_WEIGHTS = "decoder_weights"  # the in-page decoder's loader, mounted once per page
LIVE_SLIDERS = "live_sliders"  # the live sliders pad: the z it reported on release
INTERP_SCRUB = "interp_scrub"  # the interpolation scrubber: the last released spot on the path
PROBE = "probe"  # + "_" + the projection: the map probe: the spot it reported on release
MAP_WEBGL = "map_webgl"  # the WebGL map (explorer/app/scatter.py): the click or lasso it reported last
# Keys of widgets that are always drawn (no copy needed).
PRESENT = "present"  # the presentation-mode toggle: kept for the whole session, across models
PRESENTED = "presented"  # presentation mode was on in this session: the sidebar opens again when it goes off
TOUR_AUTOPLAY = "tour_autoplay"  # the tour's autoplay toggle
VIEW = "view"  # the open tab
MAP_EVENT = "map_event"  # the plotly chart's selection state
MODEL_CHOICE = "model_choice"
TYPED_PATH = "typed_path"
PROJECTION = "projection"
MAP_RENDERER = "map_renderer"  # what draws the main map: a MapRenderer, kept across models
PALETTE = "palette"  # the class colours (a name in explorer.app.plots.PALETTES), kept across models
MAP_POINTS = "map_points"  # remembered: how many test points the map shows (set to all when a model opens)
MAP_SPLIT = "map_split"  # remembered: which split the map shows (SPLITS), "test" when a model opens
MAP_TEST_POINTS = "map_test_points"  # the open model's test-split size: map ids from it on are training points
MAP_TRAIN_POINTS = "map_train_points"  # how many training codes the open model has cached (0: none)
MAP_COLOUR_BY = "map_colour_by"  # "class", or a per-image score (SCORE_LABELS) the WebGL map is coloured by
SCORE_LABELS = {"class": "class", "nelbo": "−ELBO", "recon": "recon.", "kl": "KL", "nll_iwae": "−log p(x)",
                "gap": "gap"}
SPLITS = {"test": "test split", "train": "training split", "all": "both splits"}
TSNE_PERPLEXITY = "tsne_perplexity"  # remembered: the t-SNE map's perplexity
EXPLAIN_MAP = "explain_map"  # remembered: the Explain view's map, PCA (exact) or a fitted one (approximate)

VIEWS = ("Map", "Sliders", "Interpolate", "My image", "Attributes", "Samples", "Decoded plane", "Explain", "Model card")
MAP_VIEW, SLIDERS_VIEW, INTERPOLATE_VIEW = VIEWS[:3]

# Limits and choices of remembered values, shared by the views that draw them and the URL that restores them.


class EndKind(str, Enum):
    """Where an interpolation endpoint comes from; the value is its name in the URL, ``label`` what the page says."""

    TEST = "test"
    PRIOR = "prior"
    MINE = "mine"

    @property
    def label(self) -> str:
        return {"test": "test image", "prior": "prior", "mine": "mine"}[self.value]  # short: three fit a column


class MapRenderer(str, Enum):
    """What draws the main map: the WebGL scatter (the default) or the Plotly chart it replaced."""

    WEBGL = "webgl"
    PLOTLY = "plotly"

    @property
    def label(self) -> str:
        return {"webgl": "WebGL (fast, large maps)", "plotly": "Plotly (box select)"}[self.value]


ENDS = ("a", "b")  # the interpolation's endpoints, and the attribute view's two groups
WAYPOINTS = ("c", "d", "e", "f")  # points the interpolation path may go through after B, in order
PATH_POINTS = ENDS + WAYPOINTS
INTERP_WAYPOINTS = "interp_waypoints"  # how many of WAYPOINTS the path goes through (the first ones)
LEG_AS_CHOSEN = "as chosen"  # a leg's interpolation when it follows the path's one


@dataclass(frozen=True)
class EndKeys:
    """The remembered values of interpolation endpoint A or B."""

    kind: str  # an EndKind: a test image, a prior draw or the user's image
    index: str  # the test image's index
    seed: str  # the prior draw's seed


@dataclass(frozen=True)
class GroupKeys:
    """The remembered values of attribute group A or B."""

    labels: str  # the classes that make the group
    ids: str  # the map selection it was given instead (test-set ids), or None


def end_keys(end: str) -> EndKeys:
    """The keys of path point ``end`` ("a", "b", or a waypoint "c", ...): the one place their names are made."""
    if end not in PATH_POINTS:
        raise ValueError(f"no endpoint {end!r}; the path's points are {PATH_POINTS}")
    return EndKeys(f"{end}_kind", f"{end}_index", f"{end}_seed")


def group_keys(end: str) -> GroupKeys:
    """The keys of attribute group ``end`` ("a" or "b")."""
    if end not in ENDS:
        raise ValueError(f"no group {end!r}; the groups are {ENDS}")
    return GroupKeys(f"attr_{end}_labels", f"attr_{end}_ids")


# Remembered widget values: name -> default, reset when another model is opened.
DEFAULTS: dict[str, Any] = {
    "a_kind": EndKind.TEST, "a_index": 0, "a_seed": 1,
    "b_kind": EndKind.TEST, "b_index": 1, "b_seed": 2,
    "interp_mode": "linear", "interp_steps": 10, "interp_playing": True, "interp_frame": 0,
    INTERP_WAYPOINTS: 0, "interp_loop": False, "interp_equal_pixels": False,
    **{f"{w}_kind": EndKind.TEST for w in WAYPOINTS}, **{f"{w}_index": 2 + i for i, w in enumerate(WAYPOINTS)},
    **{f"{w}_seed": 3 + i for i, w in enumerate(WAYPOINTS)},
    **{f"leg{k}_mode": LEG_AS_CHOSEN for k in range(len(PATH_POINTS))},  # a loop has as many legs as points
    "sample_seed": 0, "sample_temperature": 1.0, "sample_side": 8,
    "plane_side": 15, "plane_points": False,
    "show_collapsed": False, "inspect_index": 0,
    "attr_a_labels": [0], "attr_b_labels": [1], "attr_a_ids": None, "attr_b_ids": None, "attr_amount": 0.0,
    "attr_start": "a_mean",
    MAP_POINTS: None, TSNE_PERPLEXITY: DEFAULT_PERPLEXITY, MAP_SPLIT: "test",
    "slider_engine": "live", "map_probe": False, EXPLAIN_MAP: "pca",
}
INTERP_MAX_STEPS = 32  # frames of an interpolation (of each leg of a path)


def leg_key(k: int) -> str:
    """The remembered interpolation of leg ``k`` of the path (leg 0 runs from A to B)."""
    return f"leg{k}_mode"
ATTR_AMOUNT_RANGE = (-1.5, 2.5)  # multiples of an attribute direction: 0 is the start, 1 adds all of B - A
ATTR_STARTS = {"a_mean": "group A's mean", "pick": "the picked test image", "end_a": "interpolation A",
               "upload": "your image"}  # what the attribute slider moves
DIM_PREFIX = "dim"  # slider of latent dimension i remembers its value as "dim<i>"


def dim_key(i: int) -> str:
    return f"{DIM_PREFIX}{i}"


def widget_key(name: str) -> str:
    return f"w:{name}"


def init(model_path: str, latent_dim: int) -> None:
    """Defaults for a new session, and a fresh start when the user opens another model."""
    ss = st.session_state
    if ss.get(MODEL) == model_path:
        return
    stale = [k for k in ss if str(k).startswith(("w:", DIM_PREFIX))]
    for k in stale:
        del ss[k]
    ss[MODEL] = model_path
    ss[PICK] = None
    ss[MAP_MARKED] = None
    ss[SLIDER_BASE] = [0.0] * latent_dim
    ss[SLIDER_FROM] = None
    ss[MAP_SELECTION] = []
    for name, value in DEFAULTS.items():
        ss[name] = list(value) if isinstance(value, list) else value  # a copy: never share a default list
    for i in range(latent_dim):
        ss[dim_key(i)] = 0.0


def _copy_back(name: str) -> None:
    st.session_state[name] = st.session_state[widget_key(name)]


def widget(name: str) -> dict[str, Any]:
    """Keyword arguments that tie a widget to the remembered value ``name``: ``st.slider(..., **widget(name))``."""
    ss = st.session_state
    # The remembered value wins: a widget key left over from a run where the widget was not drawn (another
    # tab was open) may hold an older value than the one the user moved it to since.
    if ss.get(widget_key(name)) != ss[name]:
        ss[widget_key(name)] = ss[name]
    return {"key": widget_key(name), "on_change": _copy_back, "args": (name,)}


def set_value(name: str, value: Any) -> None:
    """Change a remembered value and its widget (call from callbacks, before widgets are drawn)."""
    st.session_state[name] = value
    st.session_state[widget_key(name)] = value


def get(name: str) -> Any:
    return st.session_state[name]


def palette() -> tuple[str, ...]:
    """The class colours this session chose (Map settings, or ?colours=colour-blind in a link)."""
    from explorer.app import plots

    return plots.PALETTES.get(st.session_state.get(PALETTE, plots.DEFAULT_PALETTE), plots.CLASS_COLOURS)
