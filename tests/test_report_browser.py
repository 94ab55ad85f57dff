"""The HTML report in a real browser: headless Chromium opens index.html from disk.

Chromium is a system package (Debian: chromium); without it the test skips locally and fails
in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.test_report import built_run

pytestmark = pytest.mark.slow  # a whole pipeline (test_report.built_run), then Chromium

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WINDOW = (1366, 900)

#: Appended to a copy of the page: after every image has loaded (or failed), record each
#: image's naturalWidth and the width it is shown at in the DOM, which --dump-dom then prints.
PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.setAttribute("data-natural-width", String(img.naturalWidth));
    img.setAttribute("data-shown-width", String(Math.round(img.getBoundingClientRect().width)));
  }
  document.body.setAttribute("data-probed", "yes");
});
</script>"""

#: Fewest pixels a fit figure is shown at (lhcad.families.lhco.report.FIT_FIGURE_WIDTH).
FIT_WIDTH = 600


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed (CI installs the Debian packages chromium and chromium-driver)")
    pytest.skip("Chromium is not installed")


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120, check=True
    )


class Images(HTMLParser):
    """Collects every <img>'s attributes and the ids of the tables."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.table_ids: list[str] = []
        self.probed = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        elif tag == "table" and values.get("id"):
            self.table_ids.append(str(values["id"]))
        elif tag == "body":
            self.probed = values.get("data-probed") == "yes"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_every_image_loads_and_the_masses_table_is_there(chromium: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    report = built_run(tmp_path_factory) / "report"
    page = tmp_path / "page"
    shutil.copytree(report, page)
    html = (page / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    (page / "probe.html").write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = run_chromium(
        chromium, tmp_path / "profile", f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=20000",
        "--dump-dom", (page / "probe.html").as_uri(),
    )  # fmt: skip
    dom = Images()
    dom.feed(result.stdout)
    assert dom.probed, "the page's load event never fired"
    assert len(dom.images) == len(list(report.glob("figures/*.png"))) > 10
    broken = [img["src"] for img in dom.images if int(img.get("data-natural-width") or 0) <= 0]
    assert broken == []
    assert "masses" in dom.table_ids and "fits" in dom.table_ids
    # every fit panel readable: at least FIT_WIDTH pixels wide on a laptop screen
    fits = [img for img in dom.images if str(img["src"]).startswith("figures/fit_")]
    assert fits and all(int(img.get("data-shown-width") or 0) >= FIT_WIDTH for img in fits), [
        (img["src"], img.get("data-shown-width")) for img in fits
    ]


def test_a_screenshot_of_the_page_is_written(chromium: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    report = built_run(tmp_path_factory) / "report"
    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", (report / "index.html").as_uri())
    assert png_size(shot) == WINDOW
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
