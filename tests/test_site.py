"""The built site, checked as a reader sees it.

Run after the strict book build (the ``book`` marker sorts these tests last, after
``test_book.py``). Every page of ``_build/html`` (except the redirect ``index.html``) is served on
127.0.0.1 and loaded in headless Chromium, which checks that

- MathJax started and rendered every math element, with no ``mjx-merror`` (undefined macros
  included) and no TeX left as plain text;
- every image loaded and has alt text;
- the browser console shows no error, and no request left 127.0.0.1 (the site works offline);
- every link to a local page or anchor resolves (external links are not followed);
- exercise solutions start collapsed;
- no line of a code cell is cut off at laptop width, and "going further" code cells are marked;
- axe-core (vendored in ``tests/vendor/axe-core``, ``make axe``) finds no violation of the WCAG 2.0
  and 2.1 level A and AA rules.

A screenshot of the first screen of every page goes to ``_build/screenshots/`` for review, and
with ``STATLESSON_SCREENSHOTS=full`` (``make site-check`` sets it) one of the whole page too. A
static test checks the HTML and CSS for scripts and stylesheets from other hosts.
Chromium comes from the Debian packages ``chromium`` and ``chromium-driver`` (``make test``
installs them where it can); without them only the browser checks are skipped.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = [pytest.mark.book, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 900)  # CSS pixels: a laptop screen
MAX_SCREENSHOT_HEIGHT = 24000  # CSS pixels; longer pages are cut in the full-page screenshot
FULL_PAGE = os.environ.get("STATLESSON_SCREENSHOTS") == "full"
MATHJAX_TIMEOUT_S = 30
IMAGE_TIMEOUT_S = 10
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# The WCAG 2.0 and 2.1 success criteria of levels A and AA: the rules axe-core runs.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# Rules whose violations the check accepts: one commented entry per rule id, with the reason
# ("rule-id": "why it cannot be fixed here"). Fix the page rather than adding one.
AXE_ALLOWED: dict[str, str] = {}

# Chromium must not phone home: without these it tries to reach Google hosts, which fails offline.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--hide-scrollbars",
)  # fmt: skip


@pytest.fixture(scope="module")
def html_dir(root) -> Path:
    html = root / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail(
            f"no built site in {html}: run `make book` first (`make test` builds it before this "
            "check)"
        )
    return html


def _pages(html_dir: Path) -> list[str]:
    """Every HTML page of the site, as a path relative to the site root."""
    return sorted(
        p.relative_to(html_dir).as_posix()
        for p in html_dir.rglob("*.html")
        if not p.relative_to(html_dir).parts[0].startswith("_")  # _static, _sources, _images
    )


_REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.I)


def _redirect_target(html_dir: Path, page: str) -> str | None:
    """Where a redirect-only page (such as the generated index.html) points, else None."""
    text = (html_dir / page).read_text(encoding="utf-8")
    match = _REFRESH.search(text)
    return match.group(1) if match and "<body" not in text.lower() else None


def _content_pages(html_dir: Path) -> list[str]:
    """The pages a reader sees: every page except redirects."""
    return [p for p in _pages(html_dir) if _redirect_target(html_dir, p) is None]


def test_redirects_point_at_existing_pages(html_dir):
    """index.html only redirects to the landing page; its target must exist."""
    assert (html_dir / "index.html").is_file()
    for page in _pages(html_dir):
        target = _redirect_target(html_dir, page)
        if target is not None:
            resolved = (html_dir / page).parent / urllib.parse.urlsplit(target).path
            assert resolved.is_file(), f"{page} redirects to missing {target}"


# ---------------------------------------------------------------------------------------------
# Static check: nothing is loaded from another host


class _ResourceParser(HTMLParser):
    """Collects the URLs a page loads: scripts, stylesheets and other <link>ed resources, media,
    and CSS in <style> elements and style attributes."""

    LOADED_LINK_RELS = {
        "stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "icon",
        "apple-touch-icon", "manifest",
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and a.get("src"):
            self.urls.append(("<script src>", a["src"]))
        elif tag == "link" and set(a.get("rel", "").lower().split()) & self.LOADED_LINK_RELS:
            self.urls.append((f"<link rel={a.get('rel')}>", a.get("href", "")))
        elif tag in {"img", "iframe", "video", "audio", "source", "embed"} and a.get("src"):
            self.urls.append((f"<{tag} src>", a["src"]))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.css.append(a["style"])

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


_CSS_URL = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)|url\(\s*['"]?([^'")\s]+)""")


def _is_external(url: str) -> bool:
    url = url.strip()
    return url.startswith("//") or urllib.parse.urlsplit(url).scheme in {"http", "https", "ftp"}


def _css_urls(css: str) -> list[str]:
    return [a or b for a, b in _CSS_URL.findall(css)]


def test_pages_load_nothing_from_other_hosts(html_dir):
    """No page references a script, stylesheet, font or image on another host."""
    problems = []
    for page in _pages(html_dir):
        parser = _ResourceParser()
        parser.feed((html_dir / page).read_text(encoding="utf-8"))
        problems += [f"{page}: {what} {url}" for what, url in parser.urls if _is_external(url)]
        problems += [
            f"{page}: CSS url({url})" for css in parser.css for url in _css_urls(css)
            if _is_external(url)
        ]  # fmt: skip
    for css_file in sorted(html_dir.rglob("*.css")):
        for url in _css_urls(css_file.read_text(encoding="utf-8", errors="replace")):
            if _is_external(url):
                problems.append(f"{css_file.relative_to(html_dir)}: url({url})")
    assert not problems, "resources from other hosts:\n" + "\n".join(problems)


def test_mathjax_is_served_with_the_site(html_dir):
    """Pages with math load the vendored MathJax, and its fonts and TeX extensions are there."""
    pages_with_math = [
        p for p in _pages(html_dir) if 'class="math' in (html_dir / p).read_text(encoding="utf-8")
    ]
    assert pages_with_math, "no page with math found: is the book built?"
    for page in pages_with_math:
        text = (html_dir / page).read_text(encoding="utf-8")
        src = re.search(r'<script[^>]+src="([^"]*tex-mml-chtml\.js)[^"]*"', text)
        assert src, f"{page} has math but does not load MathJax"
        target = (html_dir / page).parent / urllib.parse.urlsplit(src.group(1)).path
        assert target.resolve().is_file(), f"{page}: {src.group(1)} does not exist"
    mathjax = html_dir / "mathjax"
    assert any((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()


def test_axe_core_is_the_pinned_version(root):
    """The vendored axe-core is the version that the Makefile pins (``make axe``) and that
    tests/vendor/README.md names."""
    version = re.match(r"/\*! axe v(\S+)", AXE.read_text(encoding="utf-8"))
    pinned = re.search(r"^AXE_VERSION \?= (\S+)$", (root / "Makefile").read_text(), flags=re.M)
    assert version and pinned and version.group(1) == pinned.group(1)
    assert f"axe-core {version.group(1)}" in (AXE.parents[1] / "README.md").read_text()


class _ExerciseParser(HTMLParser):
    """Collects the classes of sphinx-exercise's exercise and solution admonitions."""

    def __init__(self) -> None:
        super().__init__()
        self.exercises: list[str] = []
        self.solutions: list[set[str]] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "div" and "admonition" in classes:
            if "exercise" in classes:
                self.exercises.append(a.get("id", ""))
            elif "solution" in classes:
                self.solutions.append(classes)


def test_exercises_have_collapsed_solutions(html_dir):
    """Every episode has sphinx-exercise exercises, each with its solution as a dropdown."""
    episodes = [p for p in _pages(html_dir) if re.fullmatch(r"episodes/\d\d-.*\.html", p)]
    assert episodes, "no episode pages found"
    for page in episodes:
        parser = _ExerciseParser()
        parser.feed((html_dir / page).read_text(encoding="utf-8"))
        assert parser.exercises, f"{page} has no sphinx-exercise exercise"
        assert len(parser.solutions) == len(parser.exercises), (
            f"{page}: {len(parser.exercises)} exercises but {len(parser.solutions)} solutions"
        )
        assert all("dropdown" in c for c in parser.solutions), (
            f"{page}: every solution must be a collapsed dropdown (`:class: dropdown`)"
        )


# ---------------------------------------------------------------------------------------------
# Browser checks


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def server(html_dir):
    """_build/html served on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(
            f"browser check skipped: {', '.join(missing)} not found. Install the Debian packages "
            "`chromium` and `chromium-driver` (as root: `apt-get install -y chromium "
            "chromium-driver`; `make test` does this when it runs as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    _set_viewport(driver, *WINDOW)  # the page area itself, whatever the window decorations
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(MATHJAX_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class PageReport:
    """What the browser saw on one page."""

    url: str
    math_elements: int = 0
    mathjax: str = "no math"  # "no math", "ok", or what went wrong
    unrendered_math: list[str] = field(default_factory=list)
    merrors: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)
    open_solutions: list[str] = field(default_factory=list)
    cut_code: list[str] = field(default_factory=list)
    unmarked_optional: list[str] = field(default_factory=list)
    optional_cells: int = 0
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    axe_violations: list[dict] = field(default_factory=list)


_WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const mj = window.MathJax;
if (!mj || !mj.startup || !mj.startup.promise) { done("MathJax did not start"); return; }
mj.startup.promise.then(() => done("ok"), (err) => done("MathJax failed: " + err));
"""

_INSPECT = r"""
// TeX that reached the page as plain text (e.g. "$t\bar{t}$" in a bibliography entry)
function rawTex() {
  const skip = "script, style, pre, code, .math, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (/\$[^$]*\\[A-Za-z]+/.test(text) && !node.parentElement.closest(skip)) {
      found.push(text.trim().slice(0, 120));
    }
  }
  return found;
}
const maths = Array.from(document.querySelectorAll(".math"));
return {
  math_elements: maths.length,
  unrendered_math: maths.filter((m) => !m.querySelector("mjx-container"))
                        .map((m) => m.textContent.trim().slice(0, 120)),
  merrors: Array.from(document.querySelectorAll("mjx-merror"))
                .map((e) => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 120)),
  raw_tex: rawTex(),
  images: Array.from(document.images).map((img) => ({
    src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,
    alt: (img.getAttribute("alt") || "").trim(),
  })),
  open_solutions: Array.from(document.querySelectorAll(".solution.dropdown"))
                       .filter((e) => !e.classList.contains("toggle-hidden")).map((e) => e.id),
  // code (code cells and code blocks in the prose, not outputs) whose longest line does not fit:
  // the reader would have to scroll sideways
  cut_code: Array.from(document.querySelectorAll("article pre"))
                 .filter((pre) => !pre.closest(".cell_output") && pre.offsetParent !== null
                                  && pre.scrollWidth > pre.clientWidth)
                 .map((pre) => pre.textContent.split("\n")
                                 .reduce((a, b) => (b.length > a.length ? b : a), "").trim()),
  // "going further" code cells (tag `optional`) without their mark in the margin
  unmarked_optional: Array.from(document.querySelectorAll("div.cell.tag_optional"))
                          .filter((c) => !getComputedStyle(c, "::before").content
                                           .includes("Going further"))
                          .map((c) => c.textContent.trim().slice(0, 80)),
  optional_cells: document.querySelectorAll("div.cell.tag_optional").length,
  links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
  ids: Array.from(document.querySelectorAll("[id], a[name]")).map((e) => e.id || e.name),
};
"""

# axe-core on the page as loaded (after MathJax and the images): its violations only, each with
# the rule id, impact, help text and the first few elements (CSS selectors) that break the rule.
_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then((results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }))), (err) => done([{id: "axe-error", impact: "n/a", help: String(err), nodes: 0,
                        targets: []}]));
"""

_IMAGES_DONE = """
const imgs = Array.from(document.images);
imgs.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
return imgs.every((img) => img.complete);
"""


def _set_viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def _screenshot(driver, path: Path) -> None:
    """Save the first screen as ``<page>.png`` and (if asked) the whole page as ``-full.png``."""
    driver.save_screenshot(str(path))
    if not FULL_PAGE:
        return
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
    )
    _set_viewport(driver, WINDOW[0], min(height, MAX_SCREENSHOT_HEIGHT))
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.with_name(path.stem + "-full.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        _set_viewport(driver, *WINDOW)


def _visit(driver, url: str, screenshot: Path) -> PageReport:
    for log in ("browser", "performance"):
        driver.get_log(log)  # drop what the previous page left behind
    driver.get(url)
    report = PageReport(url=url)
    has_math = driver.execute_script("return document.querySelector('.math') !== null")
    if has_math:
        report.mathjax = driver.execute_async_script(_WAIT_FOR_MATHJAX)
    deadline = time.monotonic() + IMAGE_TIMEOUT_S
    while not driver.execute_script(_IMAGES_DONE) and time.monotonic() < deadline:
        time.sleep(0.1)
    for key, value in driver.execute_script(_INSPECT).items():
        setattr(report, key, set(value) if key == "ids" else value)
    _screenshot(driver, screenshot)
    report.console_errors = [
        entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
    ]
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            report.requests.append(params["request"]["url"])
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            response = params["response"]
            report.failed_responses.append(f"HTTP {response['status']} {response['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            report.failed_responses.append(f"request failed: {params.get('errorText')}")
    # last, so that nothing axe does shows in the checks above
    driver.execute_script(_axe_source())
    report.axe_violations = driver.execute_async_script(_RUN_AXE, list(AXE_TAGS))
    return report


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(html_dir, server, browser, root) -> dict[str, PageReport]:
    """Load every page once; returns page path -> PageReport and writes the screenshots."""
    shots = root / "_build" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    reports = {}
    for page in _content_pages(html_dir):
        name = page.removesuffix(".html").replace("/", "__")
        reports[page] = _visit(browser, server + page, shots / f"{name}.png")
    return reports


def _fail_if(problems: list[str], what: str, show: int = 40) -> None:
    more = f"\n... and {len(problems) - show} more" if len(problems) > show else ""
    assert not problems, f"{what}:\n" + "\n".join(problems[:show]) + more


def test_every_page_was_checked(html_dir, site):
    assert set(site) == set(_content_pages(html_dir))
    for expected in ("intro.html", "episodes/setup.html", "episodes/glossary.html"):
        assert expected in site, f"{expected} is missing from the built site"


def test_math_is_rendered(site):
    problems = []
    for page, r in site.items():
        if r.mathjax not in {"ok", "no math"}:
            problems.append(f"{page}: {r.mathjax}")
        problems += [f"{page}: math not rendered: {m!r}" for m in r.unrendered_math]
        problems += [f"{page}: MathJax error: {e}" for e in r.merrors]
        problems += [f"{page}: TeX shown as plain text: {t!r}" for t in r.raw_tex]
    _fail_if(problems, "math problems")
    assert sum(r.math_elements for r in site.values()) > 0, "no math found on any page"


def test_images_load_and_have_alt_text(site):
    problems = []
    for page, r in site.items():
        for img in r.images:
            if not (img["complete"] and img["width"] > 0):
                problems.append(f"{page}: image did not load: {img['src']}")
            name = img["src"].rsplit("/", 1)[-1]
            if not img["alt"] or name in img["alt"]:  # myst-nb's default alt is the file path
                problems.append(f"{page}: image without alt text: {img['src']}")
    _fail_if(problems, "image problems")


def test_pages_pass_the_accessibility_rules(site):
    """axe-core finds no violation of the WCAG 2.x A and AA rules on any page (AXE_ALLOWED
    excepted)."""
    problems = [
        f"{page}: {v['id']} ({v['impact']}, {v['nodes']} elements, e.g. "
        f"{', '.join(v['targets'])}): {v['help']}"
        for page, r in site.items() for v in r.axe_violations if v["id"] not in AXE_ALLOWED
    ]  # fmt: skip
    _fail_if(problems, "accessibility violations (axe-core, WCAG 2.x A and AA)")


def test_solutions_are_collapsed(site):
    problems = [
        f"{page}: solution {sid} is open" for page, r in site.items() for sid in r.open_solutions
    ]
    _fail_if(problems, "solutions shown open (learners should try the exercise first)")


def test_no_code_line_is_cut_off(site):
    """At the laptop width (both sidebars open) every line of code is visible: code cells and the
    code blocks of the prose (outputs may be wider)."""
    _fail_if([f"{page}: {line[:100]}" for page, r in site.items() for line in r.cut_code],
             f"code lines cut off at {WINDOW[0]} pixels (shorten them, or see lesson.css)")


def test_going_further_cells_are_marked(site):
    """Code cells tagged ``optional`` carry the "Going further" mark (episodes/_static/lesson.css),
    and every episode but the extension has some."""
    _fail_if([f"{page}: {cell}" for page, r in site.items() for cell in r.unmarked_optional],
             "optional cells without the 'Going further' mark")
    episodes = [page for page in site if re.search(r"episodes/0[1-5]-", page)]
    assert len(episodes) == 5 and all(site[page].optional_cells > 0 for page in episodes)


def test_no_console_errors(site):
    problems = [f"{page}: {msg}" for page, r in site.items() for msg in r.console_errors]
    problems += [f"{page}: {msg}" for page, r in site.items() for msg in r.failed_responses]
    _fail_if(problems, "errors in the browser console or failed requests")


def test_no_request_leaves_the_local_server(site, server):
    problems = [
        f"{page}: {url}"
        for page, r in site.items()
        for url in r.requests
        if not url.startswith((server, "data:", "blob:", "about:"))
    ]
    _fail_if(problems, "requests to other hosts (the site must work offline)")


def test_local_links_resolve(site, server, html_dir):
    """Every link to a page, file or anchor of the site exists; external links are not followed."""
    problems = []
    for page, r in site.items():
        for link in r.links:
            if not link.startswith(server):
                continue  # external (or mailto:, javascript:): not checked offline
            parts = urllib.parse.urlsplit(link)
            path = urllib.parse.unquote(parts.path).lstrip("/")
            if path == "" or path.endswith("/"):
                path += "index.html"
            if not (html_dir / path).is_file():
                problems.append(f"{page}: link to missing {path} ({link})")
                continue
            anchor = urllib.parse.unquote(parts.fragment)
            if anchor and path in site and anchor not in site[path].ids:
                problems.append(f"{page}: link to missing anchor #{anchor} in {path}")
    _fail_if(problems, "broken local links")


def test_screenshots_were_saved(site, root):
    shots = root / "_build" / "screenshots"
    for page in site:
        name = page.removesuffix(".html").replace("/", "__")
        for suffix in (".png", "-full.png") if FULL_PAGE else (".png",):
            png = shots / f"{name}{suffix}"
            assert png.is_file() and png.stat().st_size > 1000, f"{png} missing or empty"


# --- the slider figures -------------------------------------------------------------------------

SLIDER_PAGES = ("episodes/01-statistical-models.html", "episodes/04-cabinetry-workspace.html")
MAX_SLIDER_BYTES = 1_500_000  # what one slider figure may add to its page


def _slider_blocks(page: str) -> list[str]:
    return re.findall(r'<div class="slider-figure".*?</script>\s*</div>', page, flags=re.S)


@pytest.mark.parametrize("page", SLIDER_PAGES)
def test_slider_figures_are_on_the_page_and_light(html_dir, page):
    blocks = _slider_blocks((html_dir / page).read_text())
    assert len(blocks) == 1, f"{page}: expected one slider figure, found {len(blocks)}"
    assert len(blocks[0].encode()) <= MAX_SLIDER_BYTES, f"{page}: slider figure too heavy"
    assert "http" not in blocks[0].replace('xmlns="http', "")  # nothing from elsewhere


@pytest.mark.parametrize("page", SLIDER_PAGES)
def test_slider_moves_the_figure_with_the_keyboard(site, server, browser, page):
    """Offline, in the browser: the arrow keys move the slider, and the image shown changes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get_log("browser")
    browser.get(server + page)
    figure = browser.find_element(By.CSS_SELECTOR, ".slider-figure")
    image = figure.find_element(By.TAG_NAME, "img")
    slider = figure.find_element(By.CSS_SELECTOR, "input[type=range]")
    output = figure.find_element(By.TAG_NAME, "output")
    assert image.get_attribute("alt").strip() and image.get_property("naturalWidth") > 0
    shown = [(image.get_attribute("src"), output.text, slider.get_attribute("value"))]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
    for key in (Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_LEFT):
        slider.send_keys(key)
        shown.append((image.get_attribute("src"), output.text, slider.get_attribute("value")))
    values = [int(v) for _, _, v in shown]
    assert values[1:] == [values[0] + 1, values[0] + 2, values[0] + 1], values
    srcs = [src for src, _, _ in shown]
    assert len(set(srcs[:3])) == 3 and srcs[3] == srcs[1]  # a new image per frame, and back
    texts = [text for _, text, _ in shown]
    assert len(set(texts[:3])) == 3 and texts[3] == texts[1]  # the value shown follows
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
