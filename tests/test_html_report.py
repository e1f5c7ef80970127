"""``player-sim run --html``: one self-contained page with the verdicts, failures and timelines.

The page is checked as text (structure, escaping, redaction, determinism) and in a
real headless browser (Debian's chromium and chromium-driver, driven by selenium):
it renders something that is not blank and logs no console error.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.scenario import (
    html_report,
    load_scenario,
    load_scenario_text,
    result_timeline,
    run_scenario,
)
from player_sim.scenario._html import redact

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "scenarios" / "broken"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Page(HTMLParser):
    """Tags, their classes and the text of ``pre`` blocks, for assertions."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.pre: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "pre":
            self.pre.append("")
        if tag not in ("meta", "br", "line", "path", "rect"):
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "pre" in self.open:
            self.pre[-1] += data

    def classes(self, name: str, tag: str = "") -> list[dict[str, str | None]]:
        return [a for t, a in self.tags
                if name in (a.get("class") or "").split() and tag in ("", t)]


def broken_results() -> list:  # type: ignore[type-arg]
    names = ["app_ignores_heartbeat_error", "limit_broken_for_a_moment", "step_refused"]
    results = [run_scenario(load_scenario(str(BROKEN / f"{n}.yaml"))) for n in names]
    results.append(run_scenario(load_scenario(str(ROOT / "scenarios/zombie_after_kill.yaml"))))
    return results


def test_summary_verdicts_failures_and_timelines() -> None:
    results = broken_results()
    text = html_report(results)
    assert text.startswith("<!DOCTYPE html>\n") and text.endswith("</html>\n")
    page = Page(text)
    assert "4 scenarios: 1 passed, 2 failed, 1 errors" in text
    sections = page.classes("scenario", "section")
    assert [s["class"] for s in sections] == [f"scenario {r.status}" for r in results]
    # One failure block per failure, each with its expectation and its place in the file.
    assert len(page.classes("failure", "div")) == sum(len(r.failures) for r in results)
    limit = results[1]
    failure = limit.failures[0]
    assert f"always at {failure.location}" in text
    assert f"<code>always {html.escape(failure.text)}</code>" in text
    # The scenario excerpt marks the failing line, the trace window the failing instant.
    sources = [block for block in page.pre if f"{failure.location.line:>5} | " in block]
    assert any("active_sessions(alice) &lt;= 1" in html.escape(b) for b in sources)
    hits = re.findall(r'<span class="hit">(.*?)</span>', text)
    assert f"{failure.location.line:>5} | {html.escape('  - active_sessions(alice) <= 1')}" in hits
    assert any(h.startswith("&gt; t=0.06s") for h in hits)
    # Every scenario's timeline, inline, with its failures marked; ids unique on the page.
    assert text.count("<svg ") == len(results)
    assert text.count('<g class="failure" ') == sum(len(r.failures) for r in results)
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    svg = result_timeline(limit).split("\n", 1)[1].replace("blocked-hatch", "blocked-hatch-2")
    assert svg in text
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_same_results_same_bytes(tmp_path: Path) -> None:
    assert html_report(broken_results()) == html_report(broken_results())
    runner = CliRunner()
    for name in ("a.html", "b.html"):
        result = runner.invoke(main, ["run", "-q", "--html", str(tmp_path / name),
                                      str(BROKEN / "limit_broken_for_a_moment.yaml")])
        assert result.exit_code == 1, result.output
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


HOSTILE = """\
name: "<script>alert('name')</script> & friends"
description: "</pre><img src=x onerror=alert(1)>"
devices:
  phone:
    account: alice
    session_provider: {{backend: ott, partner_id: 3009}}
world:
  ott:
    ks_validity: 24h
    users:
      alice: hunter2
      carol: {inline}
steps:
  - expect: {{device: phone, playing: "<i>never</i>", within: 1s}}
  - login: {{device: phone, username: alice, password: hunter2}}
  - play: {{device: phone, stream: "<b>x</b>"}}
  - wait: 1s
"""


def test_untrusted_text_is_escaped_and_secrets_redacted(tmp_path: Path) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE.format(inline="hunter3"), encoding="utf-8")
    result = run_scenario(load_scenario_text(path.read_text(), str(path)))
    assert not result.passed
    text = html_report([result])
    assert '<pre class="source">' in text  # the excerpt holds the users and the login
    assert "<script>" not in text and "<img" not in text and "<b>x" not in text
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt; &amp; friends" in text
    assert "hunter2" not in text and "hunter3" not in text
    assert "password: ***" in text and "alice: ***" in text and "carol: ***" in text
    assert redact("{device: tv, password: pw, x: 1}") == "{device: tv, password: ***, x: 1}"
    assert redact("client_secret: abc") == "client_secret: ***"


def test_a_run_covering_no_time_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "instant.yaml"
    path.write_text("name: instant\ndevices:\n  phone: {account: alice}\nsteps:\n"
                    "  - play: {device: phone, stream: c1}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "-q", "--no-rules", "--html",
                                       str(tmp_path / "r.html"), "--timeline",
                                       str(tmp_path / "svg"), str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert "<svg " in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (tmp_path / "svg" / "instant.svg").read_text(encoding="utf-8").startswith("<?xml")


# --- in a real browser -------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium through chromedriver, offline, with a fresh profile."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"no headless browser: {CHROMIUM} and {CHROMEDRIVER} are needed "
                    "(apt-get install chromium chromium-driver; .ci/run installs them as root)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="player-sim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def load(driver: object, page: Path) -> tuple[bytes, list[dict[str, object]]]:
    """Open ``page``; its screenshot (PNG) and the console's errors."""
    driver.get_log("browser")  # type: ignore[attr-defined]  # drop what came before
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    png: bytes = driver.get_screenshot_as_png()  # type: ignore[attr-defined]
    logs = driver.get_log("browser")  # type: ignore[attr-defined]
    return png, [e for e in logs if e.get("level") in ("SEVERE", "ERROR")]


def ink(png: bytes) -> tuple[int, float]:
    """Distinct colours, and the share of pixels that are not the background."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    background = max(colours)[1]
    drawn = sum(count for count, colour in colours if colour != background)
    return len(colours), drawn / (image.width * image.height)


def test_the_report_renders_in_a_browser_without_console_errors(browser: object,
                                                                tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_report(broken_results()), encoding="utf-8")
    png, errors = load(browser, page)
    assert errors == []
    (tmp_path / "report.png").write_bytes(png)
    colours, share = ink(png)
    assert colours > 20 and share > 0.05  # text, badges, tables: not a blank page
    # The detectors work: a blank page is blank, and a page that breaks its policy errs.
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><title>b</title></head><body></body></html>")
    png, errors = load(browser, blank)
    assert errors == [] and ink(png)[1] == 0
    bad = tmp_path / "bad.html"
    bad.write_text(html_report(broken_results()[:1]).replace(
        "</body>", "<script>console.log('x')</script></body>"), encoding="utf-8")
    assert load(browser, bad)[1]  # the report's Content-Security-Policy refuses scripts


def test_same_bytes_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    import subprocess
    import sys

    outputs = []
    for seed in ("0", "12345"):
        target = tmp_path / f"r{seed}.html"
        done = subprocess.run(
            [sys.executable, "-m", "player_sim", "run", "-q", "--html", str(target),
             "scenarios/broken/zombie_expected_to_linger.yaml",
             "scenarios/zombie_after_kill.yaml"],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
            text=True, check=False, timeout=120)
        assert done.returncode == 1, done.stderr
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
