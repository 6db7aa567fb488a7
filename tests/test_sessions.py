"""Many users at once: sessions never see each other's state, and what they share is shared and never changed.

Streamlit's AppTest is not thread-safe: every run swaps process-wide globals (``Runtime._instance`` is set to a
fresh mock at the start of a run and to None at its end, and the ``global.appTest`` option is patched and
restored), so runs in threads break each other ("Runtime hasn't been created!" from ``st.image``, images
without a URL). So the AppTest sessions are interleaved in one thread: 24 sessions are all open at once, and
each step (open, click, edit, slide, check) goes through every session in a shuffled order before the next.
A leak through anything process-wide (module globals, caches handing out shared mutable objects) shows up
there just as with threads. Real concurrency is the browser variant: 20 browser contexts at the same time
against one server (asyncio Playwright), each with its own pick and slider moves.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.runtime.caching.cache_utils import CachedFunc

import explorer.app
from explorer import checkpoint as ckpt
from explorer.app import compute, images, resources, sliders
from explorer.latent import dimension_order, slider_ranges
from tests.app_support import DIGITS, ROOT, click_map, open_app, pixels

D2 = DIGITS.parent / "fashion-mnist-d2"
SESSIONS = 24
SLIDER_CAPTION = "decoded from the sliders' z"
load_fresh = ckpt.load  # the test's own copies from disk (the app's loads are counted through ckpt.load)


@dataclass
class Session:
    """One user: a model, a point picked on the map, and a value for the top slider (a grid position)."""

    number: int
    model: object
    pick: int
    position: int  # steps from the top slider's low end
    at: object = None
    value: float = 0.0
    image: np.ndarray | None = field(default=None, repr=False)


def plan(n: int) -> list[Session]:
    """Every third session on fashion-mnist-d2, the others on digits; distinct picks and slider positions."""
    return [Session(i, D2 if i % 3 == 2 else DIGITS, pick=5 + 7 * i, position=10 + 3 * i) for i in range(n)]


def interleaved(sessions: list[Session], step, rng: np.random.Generator) -> None:
    """Run ``step`` on every session, in a shuffled order: all sessions stay open between steps."""
    for k in rng.permutation(len(sessions)):
        step(sessions[k])


def button(at, label: str):
    return at.button[[b.label for b in at.button].index(label)]


def top_slider_dimension(model) -> int:
    """The latent dimension of the Sliders tab's top slider: the most informative one."""
    checkpoint = load_fresh(model)
    return int(dimension_order(np.asarray(checkpoint.metrics.test.kl_per_dim))[0])


def expected_image(model, pick: int, dim: int, value: float) -> np.ndarray:
    """What the Sliders tab must show: the pick's mu (clipped into the ranges) with the top slider moved."""
    checkpoint = load_fresh(model)  # a fresh copy from disk, not the app's cached one
    mu = np.load(model / "embedding.npz")["mu"]
    ranges = slider_ranges(mu)
    z = np.clip(mu[pick], ranges[:, 0], ranges[:, 1]).astype(np.float32)
    z[dim] = value
    return images.display(compute.decode(checkpoint.model, z), sliders.IMAGE_SIDE)



def parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_two_dozen_open_sessions_each_see_only_their_own_pick_slider_and_image(media, monkeypatch):
    rng = np.random.default_rng(7)
    sessions = plan(SESSIONS)
    top = {m: top_slider_dimension(m) for m in (DIGITS, D2)}
    loads = []
    monkeypatch.setattr(ckpt, "load", lambda path, *a, **kw: loads.append(str(path)) or load_fresh(path, *a, **kw))
    resources._load_checkpoint.clear()  # count the loads of this test's sessions only

    def open_map(s: Session) -> None:
        s.at = open_app(s.model)

    def pick_on_map(s: Session) -> None:
        click_map(s.at, s.pick)

    def edit_with_sliders(s: Session) -> None:
        button(s.at, "Edit with sliders").click().run()
        s.at.segmented_control(key="w:slider_engine").set_value("server").run()  # Streamlit's sliders
        assert not s.at.exception, [e.value for e in s.at.exception]

    def move_top_slider(s: Session) -> None:
        slider = s.at.slider[0]
        s.value = slider.min + s.position * (slider.max - slider.min) / sliders.SLIDER_STEPS
        slider.set_value(s.value).run()
        assert not s.at.exception, [e.value for e in s.at.exception]

    def sees_its_own_sliders(s: Session) -> None:
        at = s.at.run()  # a rerun after everyone else has moved: nothing of theirs may show up here
        assert not at.exception and not at.error
        assert at.session_state["view"] == "Sliders"
        assert at.slider[0].value == pytest.approx(s.value)
        assert any(f"Started from test image #{s.pick}." in c.value for c in at.caption)
        [image] = [im for im in at.get("image") if SLIDER_CAPTION in im.captions]
        s.image = pixels(media.by_url(image.value[0]))
        want = expected_image(s.model, s.pick, top[s.model], s.value)
        diff = np.abs(s.image.astype(int) - want.astype(int))
        assert s.image.shape == want.shape and diff.mean() < 1 and diff.max() <= 16  # Streamlit sends it as JPEG

    def sees_its_own_pick_in_the_inspector(s: Session) -> None:
        s.at.session_state["view"] = "Map"
        at = s.at.run()
        assert not at.exception and not at.error
        heading = at.markdown[0].value
        assert heading.startswith(f"### #{s.pick} ")
        assert at.number_input(key="w:inspect_index").value == s.pick
        assert at.selectbox(key="model_choice").value == str(s.model.resolve())

    for step in (open_map, pick_on_map, edit_with_sliders, move_top_slider):
        interleaved(sessions, step, rng)
    cached = {m: resources.load_checkpoint(str(m.resolve())) for m in (DIGITS, D2)}  # what the sessions used
    before = {m: parameters(c.model) for m, c in cached.items()}
    for step in (sees_its_own_sliders, sees_its_own_pick_in_the_inspector):
        interleaved(sessions, step, rng)

    # Different picks and slider values give different pictures: nobody was shown someone else's.
    assert len({s.image.tobytes() for s in sessions}) == SESSIONS
    # One model per checkpoint for all sessions, never changed by them.
    assert sorted(loads) == sorted({str(m.resolve()) for m in (DIGITS, D2)})
    for m, c in cached.items():
        assert resources.load_checkpoint(str(m.resolve())) is c
        assert not c.model.training
        after = parameters(c.model)
        fresh = load_fresh(m).model.state_dict()
        assert after.keys() == before[m].keys() == fresh.keys()
        assert all(torch.equal(after[k], before[m][k]) and torch.equal(after[k], fresh[k]) for k in after)
    assert not resources.test_images(cached[DIGITS]).flags.writeable  # the shared test images are read-only


def test_a_moved_slider_keeps_its_value_after_a_visit_to_the_map(media):
    at = click_map(open_app(DIGITS), 12)
    button(at, "Edit with sliders").click().run()
    at.segmented_control(key="w:slider_engine").set_value("server").run()
    slider = at.slider[0]
    moved = slider.value + (slider.max - slider.min) / 10 * (1 if slider.value < (slider.min + slider.max) / 2 else -1)
    slider.set_value(moved).run()
    for view in ("Map", "Sliders"):
        at.session_state["view"] = view
        at.run()
    assert not at.exception
    assert at.slider[0].value == pytest.approx(moved)


def test_pandas_is_fully_imported_before_any_session_runs():
    """Found by the browser sessions: when 20 opened at once, one got "partially initialized module 'pandas' has no
    attribute 'Series'" from the map (plotly peeks at sys.modules while another session imports pandas lazily)."""
    code = "import sys, explorer.app.main; print(hasattr(sys.modules.get('pandas'), 'Series'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "True"


def cached_functions() -> dict[str, CachedFunc]:
    found = {}
    for info in pkgutil.iter_modules(explorer.app.__path__):
        module = importlib.import_module(f"explorer.app.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CachedFunc) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_cache_of_the_app_is_bounded():
    """A long day of talks must not grow memory without limit: every st.cache_* has max_entries or a ttl."""
    functions = cached_functions()
    sources = Path(explorer.app.__path__[0]).glob("*.py")
    decorators = sum(len(re.findall(r"@st\.cache_(?:data|resource)\b", f.read_text())) for f in sources)
    assert len(functions) == decorators >= 4  # none is hidden from the inspection below
    unbounded = [name for name, f in functions.items() if f._info.max_entries is None and f._info.ttl is None]
    assert not unbounded


# ---------------------------------------------------------------- the same in real browsers, at the same time

def _browser_missing() -> str | None:
    from harness.browser import CHROMIUM

    if not CHROMIUM.exists():
        return "needs Debian's Chromium: apt-get install -y chromium"
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright: pip install playwright"
    return None


BROWSER_SESSIONS = 20


IMAGE_SRC_JS = """(c) => [...document.querySelectorAll('[data-testid="stImage"]')]
    .filter(el => el.innerText.includes(c)).map(el => el.querySelector('img').getAttribute('src')).join(' ')"""


async def _browser_session(browser, url: str, s: Session, everyone_moved: asyncio.Event, moved: list) -> dict:
    """One user in their own browser context; returns what they saw before and after everyone else moved."""
    from harness.browser import IDLE

    async def idle(page) -> None:
        await page.wait_for_timeout(300)
        await page.wait_for_selector(IDLE, timeout=90_000)

    async def image_src(page) -> str:
        return await page.evaluate(IMAGE_SRC_JS, "decoded from the sliders")

    async def press(page, key: str) -> str:
        """A key on the focused slider; returns the decoded image's src once the server has sent the new one."""
        before = await image_src(page)
        await page.keyboard.press(key)
        await page.wait_for_function(f"(before) => ({IMAGE_SRC_JS})('decoded from the sliders') !== before",
                                     arg=before, timeout=90_000)
        await idle(page)
        return await image_src(page)

    async def own_pick_shown(page, heading, when: str) -> None:
        try:
            await heading.wait_for()
        except Exception as err:  # say what the page showed instead
            shown = await page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)
            raise AssertionError(f"session {s.number}: #{s.pick} not in the inspector {when}; the page shows: "
                                 f"{' | '.join(shown.split(chr(10)))[:600]}") from err

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(90_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(url if s.model == DIGITS else f"{url}/?model={s.model.name}")
        await idle(page)
        number = page.get_by_label("Inspect test image #")
        await number.fill(str(s.pick))
        await number.press("Enter")
        await idle(page)
        heading = page.get_by_role("heading", name=re.compile(rf"#{s.pick}\b"))
        await own_pick_shown(page, heading, "after typing it")
        await page.get_by_role("button", name="Edit with sliders").click()
        await idle(page)
        await page.get_by_text("Server: decode on release").click()
        await idle(page)
        started = page.get_by_text(f"Started from test image #{s.pick}.", exact=True)  # not the live note fading out
        await started.wait_for()
        slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').first
        now, low, high = await slider.evaluate("e => [Number(e.value), Number(e.min), Number(e.max)]")
        ahead, back = ("ArrowRight", "ArrowLeft") if now < (low + high) / 2 else ("ArrowLeft", "ArrowRight")
        await slider.focus()
        for _ in range(1 + s.number % 2):
            src = await press(page, ahead)
        value = await slider.evaluate("e => Number(e.value)")
        moved.append(s.number)
        if len(moved) == BROWSER_SESSIONS:
            everyone_moved.set()
        await asyncio.wait_for(everyone_moved.wait(), 180)
        # Everyone else has moved too: one step back and forth (two reruns on the server) must give back this
        # session's value, image and pick.
        await press(page, back)
        src_after = await press(page, ahead)
        value_after = await slider.evaluate("e => Number(e.value)")
        await started.wait_for()  # redrawn by the server just now: still this session's pick
        exceptions = await page.locator('[data-testid="stException"]').count()
        return {"start": now, "direction": 1 if ahead == "ArrowRight" else -1, "value": value,
                "value_after": value_after, "image": src, "image_after": src_after, "errors": errors,
                "exceptions": exceptions}
    except BaseException:
        everyone_moved.set()  # nobody waits for a session that has failed
        raise
    finally:
        await context.close()


@pytest.mark.browser
def test_twenty_browser_sessions_at_once_each_keep_their_own_pick_and_sliders():
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    from harness.browser import CHROMIUM, CHROMIUM_FLAGS, app_server

    sessions = [Session(i, D2 if i % 5 == 4 else DIGITS, pick=5 + 7 * i, position=0) for i in range(BROWSER_SESSIONS)]

    async def run(url: str) -> list[dict]:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                everyone_moved, moved = asyncio.Event(), []
                return await asyncio.gather(*(_browser_session(browser, url, s, everyone_moved, moved)
                                              for s in sessions))
            finally:
                await browser.close()

    with app_server() as url:
        results = asyncio.run(run(url))
    for s, r in zip(sessions, results):
        assert not r["errors"] and not r["exceptions"], (s, r["errors"])
        mu = np.load(s.model / "embedding.npz")["mu"]
        dim = top_slider_dimension(s.model)
        low, high = slider_ranges(mu)[dim]
        presses, step = 1 + s.number % 2, float((high - low) / sliders.SLIDER_STEPS)  # a plain float: pytest 9.2 refuses numpy tolerances
        assert r["start"] == pytest.approx(np.clip(mu[s.pick, dim], low, high), abs=step)  # its pick's mu, on a step
        assert r["value"] == pytest.approx(r["start"] + r["direction"] * presses * step, abs=step / 2)
        assert r["value_after"] == pytest.approx(r["value"])  # unchanged by the others
        assert r["image_after"] == r["image"]  # the same z gives the same picture
    assert len({r["image"] for r in results}) == BROWSER_SESSIONS  # and nobody got someone else's
