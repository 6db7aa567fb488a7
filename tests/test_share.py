"""Shareable views: the URL's query parameters restore a view in a fresh session, and stay cheap to keep."""

from __future__ import annotations

import pytest
from streamlit.runtime.state.query_params_proxy import QueryParamsProxy
from streamlit.testing.v1 import AppTest

from explorer.app import share, state
from explorer.app.state import EndKind
from tests.app_support import APP, DIGITS, click_map, open_app, server_sliders

VIEWS = ("Map", "Sliders", "Interpolate")
PROJECTIONS = ("pca", "tsne")


def fresh(**params) -> AppTest:
    """A new session opened from a URL carrying ``params``."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_parameters_round_trip_through_the_url():
    values = {"model": "digits", "view": "Interpolate", "projection": "tsne", "pick": 12, "a_kind": EndKind.TEST,
              "a_index": 3, "a_seed": 1, "b_kind": EndKind.PRIOR, "b_index": 0, "b_seed": 9,
              "interp_mode": "spherical", "interp_steps": 5, "z": [0.25, -1.5, 0.0]}
    params = share.to_params(values)
    assert params["a"] == "test:3" and params["b"] == "prior:9" and params["z"] == "0.25,-1.5,0"
    restored, ignored = share.from_params(params, 3, 100, PROJECTIONS, VIEWS)
    assert not ignored
    assert restored == {"view": "Interpolate", "projection": "tsne", "pick": 12, "a_kind": EndKind.TEST, "a_index": 3,
                        "b_kind": EndKind.PRIOR, "b_seed": 9, "interp_mode": "spherical", "interp_steps": 5,
                        "z": [0.25, -1.5, 0.0]}


def test_attribute_groups_amount_and_start_round_trip_and_defaults_stay_out_of_the_url():
    base = {"model": "digits", "view": "Map", "projection": "pca", "pick": 7, "a_kind": EndKind.TEST,
            "a_index": 0, "a_seed": 0, "b_kind": EndKind.TEST, "b_index": 1, "b_seed": 0, "interp_mode": "linear",
            "interp_steps": 10, "z": [0.0]}
    defaults = {"attr_a_labels": [0], "attr_b_labels": [1], "attr_a_ids": None, "attr_b_ids": None,
                "attr_amount": 0.0, "attr_start": "a_mean"}
    assert not {"ga", "gb", "amount", "start"} & set(share.to_params({**base, **defaults}))
    chosen = {"attr_a_labels": [3, 5], "attr_b_labels": [1], "attr_a_ids": None, "attr_b_ids": [4, 17, 60],
              "attr_amount": -0.75, "attr_start": "pick"}
    params = share.to_params({**base, **chosen})
    assert params["ga"] == "c:3,5" and params["gb"] == "ids:4,17,60" and params["amount"] == "-0.75"
    restored, ignored = share.from_params(params, 1, 100, PROJECTIONS, VIEWS)
    assert not ignored
    expected = {k: v for k, v in chosen.items() if k != "attr_b_labels"}  # B is a selection: its classes stay
    assert {k: restored[k] for k in chosen if k in restored} == expected


@pytest.mark.parametrize("params, why", [({"pick": "5000"}, "pick=5000"), ({"a": "test:x"}, "a=test:x"),
                                         ({"z": "1,2"}, "z (3 numbers"), ({"steps": "999"}, "steps=999"),
                                         ({"proj": "umap"}, "proj=umap"), ({"view": "Nope"}, "view=Nope"),
                                         ({"b": "rm -rf"}, "b=rm -rf"), ({"interp": "cubic"}, "interp=cubic"),
                                         ({"ga": "ids:1,100"}, "ga ("), ({"gb": "c:x"}, "gb ("),
                                         ({"ga": "pwn"}, "ga ("),
                                         ({"amount": "9"}, "amount=9"), ({"amount": "nan"}, "amount=nan"),
                                         ({"start": "eval"}, "start=eval")])
def test_bad_parameters_are_ignored_and_named(params, why):
    restored, ignored = share.from_params(params, 3, 100, PROJECTIONS, VIEWS)
    assert restored == {} and any(why in i for i in ignored)


def test_a_shared_url_restores_model_view_pick_endpoints_and_interpolation():
    at = fresh(model="digits", view="Interpolate", pick="42", a="prior:5", b="test:3", interp="spherical", steps="7")
    assert at.session_state["view"] == "Interpolate" and at.session_state["pick"] == 42
    assert any("**7 frames** from A = prior draw, seed 5 to B = test image #3" in m.value for m in at.markdown)
    assert at.segmented_control(key="w:interp_mode").value == "spherical"
    at.session_state["view"] = "Map"
    at.run()
    assert "#42" in at.markdown[0].value  # the inspector shows the shared pick


def test_a_shared_url_restores_the_attribute_groups_and_the_amount():
    at = fresh(model="digits", view="Attributes", ga="c:3", gb="ids:" + ",".join(map(str, range(30, 70))),
               amount="1.5")
    assert at.multiselect(key="w:attr_a_labels").value == [3]
    assert any("40 points selected on the map" in c.value for c in at.caption)
    assert at.slider(key="w:attr_amount").value == 1.5
    assert any("+ 1.50 × (B − A)" in c for im in at.get("image") for c in im.captions)
    at.slider(key="w:attr_amount").set_value(0.5).run()
    assert at.query_params["amount"] == "0.5" and at.query_params["ga"] == "c:3"


def test_a_shared_url_restores_slider_values_and_projection():
    at = server_sliders(fresh(model="fashion-mnist-d2", view="Sliders", proj="latent", z="1.25,-0.5"))
    assert at.radio(key="projection").value == "latent"
    values = {s.label.split(" ")[0]: s.value for s in at.slider}
    assert values["z1"] == pytest.approx(1.25) and values["z2"] == pytest.approx(-0.5)
    assert any("shared link" in c.value for c in at.caption)


def test_the_url_follows_the_view_and_a_copy_of_it_opens_the_same_view():
    at = click_map(open_app(DIGITS), 17)
    top = server_sliders(open_app(DIGITS, "Sliders")).slider[0].label.split(" ")[0]
    at.session_state["view"] = "Sliders"
    at.run()
    server_sliders(at)
    at.slider[0].set_value(at.slider[0].max).run()
    url = dict(at.query_params)
    assert url["pick"] == "17" and url["view"] == "Sliders" and url["model"] == "digits"
    copy = server_sliders(fresh(**url))
    assert copy.session_state["pick"] == 17
    assert {s.label: s.value for s in copy.slider} == pytest.approx({s.label: s.value for s in at.slider}, abs=1e-3)
    assert copy.slider[0].label.startswith(top)


def test_a_bad_link_warns_and_opens_the_rest(monkeypatch):
    at = fresh(model="digits", pick="99999", view="Sliders")
    assert any("pick=99999" in w.value for w in at.sidebar.warning)
    assert at.session_state["view"] == "Sliders" and at.session_state["pick"] is None


def test_a_rerun_that_changes_nothing_writes_nothing_to_the_url(monkeypatch):
    at = open_app(DIGITS)
    writes = []
    real = QueryParamsProxy.__setitem__
    monkeypatch.setattr(QueryParamsProxy, "__setitem__", lambda self, k, v: writes.append(k) or real(self, k, v))
    at.run()
    assert writes == []
    at.number_input(key="w:inspect_index").set_value(5).run()
    assert writes == ["pick"]


def test_a_link_accepts_exactly_what_the_views_offer():
    """The URL and the views read their limits from one schema (state.py): at the limit in, past it out."""
    from explorer.app import state

    low, high = state.ATTR_AMOUNT_RANGE
    params = {"steps": str(state.INTERP_MAX_STEPS), "amount": str(high), "start": next(iter(state.ATTR_STARTS))}
    values, ignored = share.from_params(params, 2, 10, ("pca",), state.VIEWS)
    assert not ignored and values["interp_steps"] == state.INTERP_MAX_STEPS and values["attr_amount"] == high
    past = {"steps": str(state.INTERP_MAX_STEPS + 1), "amount": str(high + 0.5), "start": "nowhere"}
    assert len(share.from_params(past, 2, 10, ("pca",), state.VIEWS)[1]) == 3


def test_waypoints_loop_and_equal_steps_round_trip_through_a_compact_url():
    values = {"model": "digits", "view": "Interpolate", "projection": "pca", "pick": None, "a_kind": EndKind.TEST,
              "a_index": 3, "a_seed": 1, "b_kind": EndKind.PRIOR, "b_index": 0, "b_seed": 9,
              "interp_mode": "linear", "interp_steps": 5, "z": [0.0], "interp_waypoints": 2,
              "c_kind": EndKind.TEST, "c_index": 5, "c_seed": 0, "d_kind": EndKind.PRIOR, "d_index": 0, "d_seed": 3,
              "interp_loop": True, "interp_equal_pixels": True}
    params = share.to_params(values)
    assert params["via"] == "test:5,prior:3" and params["loop"] == "1" and params["even"] == "1"
    restored, ignored = share.from_params(params, 1, 100, PROJECTIONS, VIEWS)
    assert not ignored
    assert {k: restored[k] for k in ("interp_waypoints", "c_kind", "c_index", "d_kind", "d_seed", "interp_loop",
                                     "interp_equal_pixels")} == {
        "interp_waypoints": 2, "c_kind": EndKind.TEST, "c_index": 5, "d_kind": EndKind.PRIOR, "d_seed": 3,
        "interp_loop": True, "interp_equal_pixels": True}
    assert "via" not in share.to_params({**values, "interp_waypoints": 0})


def test_each_leg_s_own_interpolation_rides_in_the_url_and_the_rest_stay_as_chosen():
    values = {"model": "digits", "view": "Interpolate", "projection": "pca", "pick": None, "a_kind": EndKind.TEST,
              "a_index": 3, "a_seed": 1, "b_kind": EndKind.TEST, "b_index": 4, "b_seed": 0,
              "interp_mode": "linear", "interp_steps": 5, "z": [0.0],
              **{state.leg_key(k): state.LEG_AS_CHOSEN for k in range(len(state.PATH_POINTS))}}
    assert "legs" not in share.to_params(values)  # every leg as chosen: nothing to say
    params = share.to_params({**values, state.leg_key(1): "spherical", state.leg_key(2): "linear"})
    assert params["legs"] == "2:spherical,3:linear"
    restored, ignored = share.from_params(params, 1, 100, PROJECTIONS, VIEWS)
    assert not ignored
    assert [restored[state.leg_key(k)] for k in range(len(state.PATH_POINTS))] == \
        [state.LEG_AS_CHOSEN, "spherical", "linear"] + [state.LEG_AS_CHOSEN] * (len(state.PATH_POINTS) - 3)


@pytest.mark.parametrize("legs", ["9:linear", "2:cubic", "spherical", "0:linear"])
def test_bad_leg_interpolations_in_a_url_are_ignored_and_named(legs):
    restored, ignored = share.from_params({"legs": legs}, 3, 100, PROJECTIONS, VIEWS)
    assert restored == {} and any(i.startswith(f"legs={legs} ") for i in ignored)


@pytest.mark.parametrize("via", ["test:500", "test:1,nope", "test:1,test:2,test:3,test:4,test:5"])
def test_bad_waypoints_in_a_url_are_ignored_and_named(via):
    restored, ignored = share.from_params({"via": via}, 3, 100, PROJECTIONS, VIEWS)
    assert restored == {} and any(i.startswith("via=") for i in ignored)


def test_a_shared_url_opens_a_looping_path_through_c():
    at = fresh(model="digits", view="Interpolate", a="test:0", b="test:1", via="prior:4", loop="1", steps="4")
    assert not at.exception
    assert any("**10 frames** from A = test image #0" in m.value and "C = prior draw, seed 4 → A" in m.value
               for m in at.markdown)
