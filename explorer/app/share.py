"""Shareable views: the state that matters lives in the URL's query parameters.

``to_params`` and ``from_params`` are pure (plain dicts in and out) and tested on their own;
``restore`` applies a URL once, when a session starts, and ``publish`` writes only the parameters that
changed, so a rerun that changes nothing sends nothing to the browser. The model itself is the
``model`` parameter that ``main.choose_model`` reads. An uploaded image cannot travel in a URL: a
link whose endpoint is "mine" opens with that end at the origin until the viewer uploads their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from explorer.app import state
from explorer.latent import INTERPOLATIONS

Z_DECIMALS = 3  # slider values in the URL: finer than a slider step, short enough to read
# Attribute vectors (attribute_view): the defaults stay out of the URL; the rest is checked on the way in.
GROUP_DEFAULTS = {end: state.DEFAULTS[state.group_keys(end).labels] for end in ("a", "b")}
MAX_GROUP_IDS = 2000  # a lasso over more points than this is not put in the URL (it would be ~10 kB)
MAX_CLASS = 10_000


def _end(kind: state.EndKind, index: int, seed: int) -> str:
    kind = state.EndKind(kind)
    if kind is state.EndKind.TEST:
        return f"{kind.value}:{index}"
    if kind is state.EndKind.PRIOR:
        return f"{kind.value}:{seed}"
    return kind.value


def _group(labels: list[int], ids: list[int] | None, default: list[int]) -> str | None:
    """An attribute group as a parameter: 'c:3,5' (classes) or 'ids:4,17,230' (a map selection)."""
    if ids is not None:
        return "ids:" + ",".join(str(i) for i in ids) if len(ids) <= MAX_GROUP_IDS else None
    return None if list(labels) == default else "c:" + ",".join(str(c) for c in labels)


def _parse_group(text: str, n_points: int) -> tuple[list[int] | None, list[int] | None] | None:
    """'c:3,5' -> ([3, 5], None); 'ids:4,17' -> (None, [4, 17]); None when malformed or out of range."""
    kind, _, listed = text.partition(":")
    try:
        numbers = [int(v) for v in listed.split(",")] if listed else []
    except ValueError:
        return None
    if kind == "c" and all(0 <= c <= MAX_CLASS for c in numbers):
        return numbers, None
    if kind == "ids" and numbers and len(numbers) <= MAX_GROUP_IDS and all(0 <= i < n_points for i in numbers):
        return None, numbers
    return None


def _parse_end(end: str, text: str, n_points: int, values: dict[str, Any]) -> bool:
    """'test:5', 'prior:3' or 'mine' into ``values`` for path point ``end``; False (nothing set) when malformed."""
    kind, _, number = text.partition(":")
    if kind not in {k.value for k in state.EndKind}:
        return False
    kind, keys = state.EndKind(kind), state.end_keys(end)
    if kind is not state.EndKind.MINE:
        parsed = _int(number, 0, n_points - 1 if kind is state.EndKind.TEST else 2**31 - 1)
        if parsed is None:
            return False
        values[keys.index if kind is state.EndKind.TEST else keys.seed] = parsed
    values[keys.kind] = kind
    return True


def to_params(values: Mapping[str, Any]) -> dict[str, str]:
    """Session values (see ``current_values``) -> query parameters; None values are left out."""
    amount = float(values.get("attr_amount", 0.0))
    params = {
        "model": values["model"], "view": values["view"], "proj": values["projection"],
        "split": None if values.get("split", "test") == "test" else values["split"],
        "pick": None if values["pick"] is None else str(values["pick"]),
        "a": _end(values["a_kind"], values["a_index"], values["a_seed"]),
        "b": _end(values["b_kind"], values["b_index"], values["b_seed"]),
        "interp": values["interp_mode"], "steps": str(values["interp_steps"]),
        "via": ",".join(_end(values[f"{w}_kind"], values[f"{w}_index"], values[f"{w}_seed"])
                        for w in state.WAYPOINTS[: values.get(state.INTERP_WAYPOINTS, 0)]) or None,
        "legs": _legs(values),
        "loop": "1" if values.get("interp_loop") else None,
        "even": "1" if values.get("interp_equal_pixels") else None,
        "present": "1" if values.get("present") else None,
        "colours": "colour-blind" if values.get("palette") == "colour-blind safe" else None,  # read by main.py
        "z": ",".join(f"{v:.{Z_DECIMALS}f}".rstrip("0").rstrip(".") for v in values["z"]),
        **{f"g{end}": _group(values.get(state.group_keys(end).labels, GROUP_DEFAULTS[end]),
                             values.get(state.group_keys(end).ids), GROUP_DEFAULTS[end]) for end in state.ENDS},
        "amount": None if amount == 0 else f"{amount:.2f}".rstrip("0").rstrip("."),
        "start": None if values.get("attr_start", "a_mean") == "a_mean" else values["attr_start"],
    }
    return {k: v for k, v in params.items() if v is not None}


def _legs(values: Mapping[str, Any]) -> str | None:
    """The legs whose interpolation is their own, as 1-based leg:mode ("2:spherical,3:linear"), or None."""
    own = [f"{k + 1}:{values[state.leg_key(k)]}" for k in range(len(state.PATH_POINTS))
           if values.get(state.leg_key(k), state.LEG_AS_CHOSEN) != state.LEG_AS_CHOSEN]
    return ",".join(own) or None


def _parse_legs(text: str, values: dict[str, Any]) -> bool:
    """``legs=2:spherical,3:linear`` -> each named leg's mode in ``values``, the others as chosen; False if bad."""
    modes: dict[int, str] = {}
    for part in text.split(","):
        number, _, mode = part.partition(":")
        leg = _int(number, 1, len(state.PATH_POINTS))
        if leg is None or mode not in INTERPOLATIONS:
            return False
        modes[leg - 1] = mode
    values.update({state.leg_key(k): modes.get(k, state.LEG_AS_CHOSEN) for k in range(len(state.PATH_POINTS))})
    return True


def _int(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


def from_params(params: Mapping[str, str], latent_dim: int, n_points: int, projections: tuple[str, ...],
                views: tuple[str, ...], n_train: int = 0) -> tuple[dict[str, Any], list[str]]:
    """Query parameters -> (session values to set, the parameters that were ignored and why).

    ``n_points`` test points, and ``n_train`` training points where their codes are cached: on a map of
    the training split or of both, the pick is a map id (the test points, then the training points).
    Every value is checked: a URL typed by hand, or made for another model, never breaks the page.
    """
    values: dict[str, Any] = {}
    ignored: list[str] = []
    if "view" in params:
        values["view"] = params["view"] if params["view"] in views else ignored.append(f"view={params['view']}")
    if "proj" in params:
        values["projection"] = params["proj"] if params["proj"] in projections else \
            ignored.append(f"proj={params['proj']}")
    split = params.get("split", "test")
    if split not in state.SPLITS or (split != "test" and not n_train):
        ignored.append(f"split={split} (the training split's codes are not cached: python -m explorer embed-train)"
                       if split in state.SPLITS else f"split={split}")
        split = "test"
    elif "split" in params:
        values["split"] = split
    if "pick" in params:
        top = n_points if split == "test" else n_points + n_train
        values["pick"] = _int(params["pick"], 0 if split != "train" else n_points, top - 1)
        if values["pick"] is None:
            ignored.append(f"pick={params['pick']} (this map has {top - (n_points if split == 'train' else 0)} "
                           "points)")
    for end in ("a", "b"):
        if end in params and not _parse_end(end, params[end], n_points, values):
            ignored.append(f"{end}={params[end]}")
    if "via" in params:
        listed = params["via"].split(",")
        if len(listed) <= len(state.WAYPOINTS) and all(
                _parse_end(w, text, n_points, values) for w, text in zip(state.WAYPOINTS, listed)):
            values[state.INTERP_WAYPOINTS] = len(listed)
        else:
            for w in state.WAYPOINTS:
                for key in (state.end_keys(w).kind, state.end_keys(w).index, state.end_keys(w).seed):
                    values.pop(key, None)
            ignored.append(f"via={params['via']} (up to {len(state.WAYPOINTS)} points as test:5,prior:3,mine)")
    if "legs" in params and not _parse_legs(params["legs"], values):
        ignored.append(f"legs={params['legs']} (each leg's own interpolation as 2:spherical,3:linear; legs 1 to "
                       f"{len(state.PATH_POINTS)}, {' or '.join(INTERPOLATIONS)})")
    for name, key in (("loop", "interp_loop"), ("even", "interp_equal_pixels")):
        if name in params:
            values[key] = params[name] == "1"
    if "interp" in params:
        values["interp_mode"] = params["interp"] if params["interp"] in INTERPOLATIONS else \
            ignored.append(f"interp={params['interp']}")
    if "steps" in params:
        values["interp_steps"] = _int(params["steps"], 2, state.INTERP_MAX_STEPS) or ignored.append(f"steps={params['steps']}")
    if "present" in params:
        values["present"] = params["present"] == "1"
    if "z" in params:
        try:
            z = [float(v) for v in params["z"].split(",")]
        except ValueError:
            z = []
        if len(z) == latent_dim and all(abs(v) < 1e6 for v in z):
            values["z"] = z
        else:
            ignored.append(f"z ({latent_dim} numbers expected)")
    for end in ("a", "b"):
        if f"g{end}" in params:
            group = _parse_group(params[f"g{end}"], n_points)
            if group is None:
                ignored.append(f"g{end} (classes as c:0,3, or up to {MAX_GROUP_IDS} point ids below {n_points} "
                               "as ids:4,17)")
            else:
                labels, ids = group
                values[state.group_keys(end).ids] = ids
                if labels is not None:
                    values[state.group_keys(end).labels] = labels
    if "amount" in params:
        try:
            amount = float(params["amount"])
        except ValueError:
            amount = float("nan")
        if state.ATTR_AMOUNT_RANGE[0] <= amount <= state.ATTR_AMOUNT_RANGE[1]:
            values["attr_amount"] = amount
        else:
            ignored.append(f"amount={params['amount']} (from {state.ATTR_AMOUNT_RANGE[0]} to {state.ATTR_AMOUNT_RANGE[1]})")
    if "start" in params:
        if params["start"] in state.ATTR_STARTS:
            values["attr_start"] = params["start"]
        else:
            ignored.append(f"start={params['start']}")
    return {k: v for k, v in values.items() if v is not None or k.endswith("_ids")}, ignored


def current_values(latent_dim: int) -> dict[str, Any]:
    ss = st.session_state
    keys = ("a_kind", "a_index", "a_seed", "b_kind", "b_index", "b_seed", "interp_mode", "interp_steps",
            state.INTERP_WAYPOINTS, "interp_loop", "interp_equal_pixels",
            *(f"{w}_{field}" for w in state.WAYPOINTS for field in ("kind", "index", "seed")),
            *(state.leg_key(k) for k in range(len(state.PATH_POINTS))),
            "attr_a_labels", "attr_b_labels", "attr_a_ids", "attr_b_ids", "attr_amount", "attr_start")
    return {"model": Path(ss[state.MODEL]).name, "view": ss.get(state.VIEW) or state.VIEWS[0],
            "projection": ss[state.PROJECTION], "pick": ss[state.PICK], "present": ss.get(state.PRESENT, False),
            "split": ss.get(state.MAP_SPLIT, "test"),
            "palette": ss.get(state.PALETTE),
            **{k: ss[k] for k in keys},
            "z": [float(ss[state.dim_key(i)]) for i in range(latent_dim)]}


def restore(latent_dim: int, n_points: int, projections: tuple[str, ...]) -> list[str]:
    """Apply the URL's parameters once per session (before any widget is drawn); returns what was ignored."""
    ss = st.session_state
    if ss.get(state.URL_RESTORED):
        return []
    ss[state.URL_RESTORED] = True
    return apply(st.query_params.to_dict(), latent_dim, n_points, projections, "the shared link's values")


def apply(params: Mapping[str, str], latent_dim: int, n_points: int, projections: tuple[str, ...],
          origin: str) -> list[str]:
    """Set the session to the view ``params`` describe (from a callback, or before widgets are drawn).

    ``origin`` names the slider values' source for the sliders' caption. Returns what was ignored.
    """
    ss = st.session_state
    values, ignored = from_params(params, latent_dim, n_points, projections, state.VIEWS,
                                  ss.get(state.MAP_TRAIN_POINTS, 0))
    if "split" in values:
        ss[state.MAP_SPLIT] = values.pop("split")
    elif "pick" in values and values["pick"] < n_points and ss.get(state.MAP_SPLIT) == "train":
        ss[state.MAP_SPLIT] = "test"  # a saved view of the test map, opened on the training map
    if "view" in values:
        ss[state.VIEW] = values.pop("view")
    if "projection" in values:
        ss[state.PROJECTION] = values.pop("projection")
    if "present" in values:
        ss[state.PRESENT] = values.pop("present")
    if "pick" in values:
        ss[state.PICK] = ss[state.MAP_MARKED] = pick = values.pop("pick")
        if pick < n_points:  # the inspector's number box holds test images; a training pick leaves it be
            state.set_value("inspect_index", pick)
    if "z" in values:
        z = values.pop("z")
        ss[state.SLIDER_BASE], ss[state.SLIDER_FROM] = z, origin
        for i, v in enumerate(z):
            state.set_value(state.dim_key(i), v)
    for end in ("a", "b"):
        if state.group_keys(end).ids in values:  # not a widget: the group's map selection, or None for its classes
            ss[state.group_keys(end).ids] = values.pop(state.group_keys(end).ids)
    for name, value in values.items():
        state.set_value(name, value)
    return ignored


def publish(latent_dim: int) -> None:
    """Write the parameters that differ from the URL's (a rerun that changed nothing writes nothing)."""
    wanted = to_params(current_values(latent_dim))
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    for key in [k for k in st.query_params if k not in wanted]:
        del st.query_params[key]
