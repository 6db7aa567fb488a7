from harness.browser import app_server, browser_page, rightmost_webgl_point, wait_idle, PICK_TITLE, webgl_map_points
with app_server() as url, browser_page(url) as page:
    print("before", page.evaluate("(s) => [...document.querySelectorAll(s)].map(e => e.innerText)", PICK_TITLE), page.url)
    pid, x, y = rightmost_webgl_point(page)
    print(pid, x, y, page.locator(".le-map canvas.le-map-canvas").bounding_box())
    page.mouse.click(x, y); wait_idle(page)
    page.wait_for_timeout(3000)
    print("after", page.evaluate("(s) => [...document.querySelectorAll(s)].map(e => e.innerText)", PICK_TITLE), page.url)
    pts = webgl_map_points(page)
    import numpy as np
    a = np.array([p[1:] for p in pts]); print(len(pts), a.min(0), a.max(0))
    page.screenshot(path="/tmp/x.png")
