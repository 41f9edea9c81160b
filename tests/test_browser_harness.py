"""tests/browser.py against pages written here: it sees what a page does, and it reports what goes wrong."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from tests import browser as harness
from tests.browser import browser_session, open_page, screenshot

SORTABLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sortable</title></head>
<body>
<table id="board">
  <thead><tr><th id="by-model">Model</th><th id="by-score">Score</th></tr></thead>
  <tbody>
    <tr><td>cornet</td><td>0.41</td></tr>
    <tr><td>alexnet</td><td>0.38</td></tr>
    <tr><td>resnet50</td><td>0.47</td></tr>
    <tr><td>vgg16</td><td>0.09</td></tr>
  </tbody>
</table>
<script>
  // click a header: sort its column, numbers high to low, text A to Z; a second click reverses
  document.querySelectorAll("#board th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = document.querySelector("#board tbody");
      var rows = Array.prototype.slice.call(body.rows);
      var numeric = column === 1;
      var descending = th.dataset.order ? th.dataset.order === "asc" : numeric;
      rows.sort(function (a, b) {
        var x = a.cells[column].textContent, y = b.cells[column].textContent;
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return descending ? -c : c;
      });
      th.dataset.order = descending ? "desc" : "asc";
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def browser():
    with browser_session() as session:
        yield session


def write(tmp_path: Path, body: str, name: str = "index.html") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def models(run) -> list[str]:
    return run.page.locator("#board tbody tr td:first-child").all_inner_texts()


def test_header_click_sorts_rows_with_no_errors_and_no_network(browser, tmp_path):
    with open_page(write(tmp_path, SORTABLE), browser=browser) as run:
        assert models(run) == ["cornet", "alexnet", "resnet50", "vgg16"]
        run.page.click("#by-score")
        assert models(run) == ["resnet50", "cornet", "alexnet", "vgg16"]
        run.page.click("#by-score")
        assert models(run) == ["vgg16", "alexnet", "cornet", "resnet50"]
        run.page.click("#by-model")
        assert models(run) == ["alexnet", "cornet", "resnet50", "vgg16"]
        assert run.errors == []
        assert run.requests == []
        assert run.page.url.startswith("file://")


def test_console_error_and_uncaught_exception_are_reported(browser, tmp_path):
    page = "<!doctype html><title>e</title><script>console.error('broken ' + 6 * 7); undefinedFunction();</script>"
    with open_page(write(tmp_path, page), browser=browser) as run:
        pass
    assert any(e.startswith("console.error:") and "broken 42" in e for e in run.errors), run.errors
    assert any(e.startswith("pageerror:") and "undefinedFunction" in e for e in run.errors), run.errors


def test_network_requests_are_reported_and_refused(browser, tmp_path):
    page = """<!doctype html><title>n</title>
<img src="http://127.0.0.1:9/x.png" alt="">
<link rel="stylesheet" href="https://fonts.example.invalid/a.css">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<script>
  fetch("http://127.0.0.1:9/data.json").catch(function () { document.title = "fetch refused"; });
  new WebSocket("ws://127.0.0.1:9/live");
</script>"""
    with open_page(write(tmp_path, page), browser=browser) as run:
        run.page.wait_for_function("document.title === 'fetch refused'")
        run.page.wait_for_timeout(200)  # the WebSocket's handshake is asynchronous
    assert set(run.requests) >= {
        "http://127.0.0.1:9/x.png",
        "https://fonts.example.invalid/a.css",
        "http://127.0.0.1:9/data.json",
        "ws://127.0.0.1:9/live",
    }, run.requests
    assert not any(url.startswith(("data:", "file:")) for url in run.requests)
    assert any("ERR_BLOCKED_BY_CLIENT" in e for e in run.errors), run.errors  # refused by the harness, not by a network


def test_allowed_prefix_reaches_a_local_server_and_others_are_still_refused(browser, tmp_path):
    write(tmp_path, "<!doctype html><title>s</title><img src='ok.png' alt=''><img src='http://127.0.0.1:9/no.png' alt=''>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        with open_page(base + "index.html", browser=browser, allow=[base]) as run:
            assert run.page.title() == "s"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert run.requests == ["http://127.0.0.1:9/no.png"]


def test_screenshot_is_a_png(browser, tmp_path):
    with open_page(write(tmp_path, SORTABLE), browser=browser, viewport=(640, 360)) as run:
        path = screenshot(run.page, tmp_path / "shots" / "board.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 100
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # the IHDR chunk
    assert width == 640 and height >= 360


def test_missing_chromium_fails_with_the_install_command(monkeypatch):
    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install"):
        with browser_session():
            pass


def _chromium_descendants() -> set[int]:
    """PIDs of Chromium processes below this one (Linux /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if rest[0] != "Z":
            parents[int(entry)], names[int(entry)] = int(rest[1]), name
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found |= frontier
    return {pid for pid in found if names[pid].startswith("chrom")}


def test_every_browser_process_is_gone_after_the_session(tmp_path):
    before = _chromium_descendants()
    with browser_session() as session:
        with open_page(write(tmp_path, SORTABLE), browser=session):
            during = _chromium_descendants() - before
    assert during, "no Chromium process was seen while the browser was open"
    alive = sorted(during & _chromium_descendants() | {pid for pid in during if _running(pid)})
    assert alive == [], f"Chromium processes left after close: {alive}"


def _running(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:  # gone
        return False
