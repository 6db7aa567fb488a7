"""Attribute vectors in the running app (AppTest): groups by class or map selection, the slider, consistency."""

from __future__ import annotations

import numpy as np

from tests.app_support import DIGITS, open_app
from tests.test_app import image_of

MOVED = "× (B − A)"


def moved_image(at, media):  # noqa: F811
    [element] = [im for im in at.get("image") if any(MOVED in c for c in im.captions)]
    return image_of(at, media, element.captions[0])


def test_the_attribute_slider_moves_the_decoded_image(media):  # noqa: F811
    at = open_app(DIGITS, "Attributes")
    assert not at.error
    before = moved_image(at, media)
    at.slider(key="w:attr_amount").set_value(1.0).run()
    after = moved_image(at, media)
    assert before.shape == after.shape and np.abs(after.astype(int) - before.astype(int)).max() > 50
    assert any("+ 1.00 × (B − A)" in c for im in at.get("image") for c in im.captions)


def test_consistency_is_shown_as_a_share_with_chance_beside_it():
    at = open_app(DIGITS, "Attributes")
    at.multiselect(key="w:attr_b_labels").set_value([6]).run()
    [metric] = at.get("metric")
    share = int(metric.value.rstrip("%"))
    assert 0 <= share <= 100 and "over chance" in metric.proto.delta


def test_a_box_selection_on_the_map_can_become_a_group_and_the_picked_point_can_be_moved(media):  # noqa: F811
    at = open_app(DIGITS)
    at.session_state["map_event"] = {"selection": {"points": [{"customdata": i} for i in range(20, 60)],
                                                   "point_indices": list(range(40)), "box": [{}], "lasso": []}}
    at.run()
    at.session_state["view"] = "Attributes"
    at.run()
    at.button(key="attr_b_selection").click().run()
    assert any("40 points selected on the map" in c.value for c in at.caption)
    at.radio(key="w:attr_start").set_value("pick").run()
    assert any("test image #20 + 0.00" in c for im in at.get("image") for c in im.captions)


def test_an_empty_group_asks_for_a_choice_instead_of_failing():
    at = open_app(DIGITS, "Attributes")
    at.multiselect(key="w:attr_a_labels").set_value([]).run()
    assert any("at least one class" in i.value for i in at.info) and not at.exception


def test_the_interpolations_a_can_be_moved_along_the_direction():
    at = open_app(DIGITS, "Attributes")
    at.radio(key="w:attr_start").set_value("end_a").run()
    assert any("A = test image #0" in c for im in at.get("image") for c in im.captions)
