"""Presentation mode: style injected, larger images, and the keyboard-shortcut buttons do what they say."""

from __future__ import annotations

from explorer.app import presentation
from explorer.app.state import EndKind
from tests.app_support import DIGITS, click_map, open_app, server_sliders
from tests.test_app import image_of
from tests.test_share import fresh


def styles(at) -> list[str]:
    return [m.value for m in at.markdown if "<style>" in m.value]


def test_the_toggle_hides_the_chrome_and_enlarges_images(media):  # noqa: F811
    at = server_sliders(open_app(DIGITS, "Sliders"))
    normal = image_of(at, media, "decoded from the sliders' z").shape[0]
    assert not styles(at)
    at.sidebar.toggle(key="present").set_value(True).run()
    [css] = styles(at)
    assert 'stToolbar' in css and "html { font-size: clamp(" in css  # type grows with the window
    assert image_of(at, media, "decoded from the sliders' z").shape[0] >= normal * 1.4
    assert any("Keys:" in c.value for c in at.sidebar.caption)
    assert at.query_params["present"] == "1"


def test_a_link_with_present_opens_in_presentation_mode():
    at = fresh(model="digits", present="1")
    assert at.sidebar.toggle(key="present").value and styles(at)


def test_play_pause_and_step_buttons_carry_shortcuts_and_walk_the_frames():
    at = open_app(DIGITS, "Interpolate")
    play, step = at.button(key="interp_play"), at.button(key="interp_step")
    assert play.proto.shortcut.lower() == presentation.SHORTCUTS["play"].lower()
    assert step.proto.shortcut.lower() == presentation.SHORTCUTS["step"].lower()
    assert any("played as an animation" in c for im in at.get("image") for c in im.captions)
    play.click().run()
    assert any("paused: frame 1 of 10" in c for im in at.get("image") for c in im.captions)
    for _ in range(2):
        at.button(key="interp_step").click().run()
    assert any("paused: frame 3 of 10" in c for im in at.get("image") for c in im.captions)
    at.button(key="interp_play").click().run()
    assert any("played as an animation" in c for im in at.get("image") for c in im.captions)


def test_next_point_moves_the_inspector_to_the_next_point_on_the_map():
    at = click_map(open_app(DIGITS), 41)
    button = at.button(key="next_point")
    assert button.proto.shortcut.lower() == presentation.SHORTCUTS["next"].lower()
    button.click().run()
    assert "#42" in at.markdown[0].value


def test_saved_views_make_a_tour_that_the_t_key_steps_through():
    at = click_map(open_app(DIGITS), 5)
    at.button(key="tour_save").click().run()
    at.session_state["view"] = "Interpolate"
    at.run()
    at.segmented_control(key="w:a_kind").set_value(EndKind.PRIOR).run()
    at.button(key="tour_save").click().run()
    assert len(at.session_state["tour"]) == 2
    next_view = at.button(key="tour_next")
    assert next_view.proto.shortcut.lower() == "t"
    next_view.click().run()
    assert at.session_state["view"] == "Map" and at.session_state["pick"] == 5
    assert at.session_state["a_kind"] == EndKind.TEST
    at.button(key="tour_next").click().run()
    assert at.session_state["view"] == "Interpolate" and at.session_state["a_kind"] == EndKind.PRIOR
    at.button(key="tour_next").click().run()  # round again
    assert at.session_state["view"] == "Map"
