"""Browser tests: the built dashboard (web/dist) in Debian's Chromium, driven by Playwright, against the whole
suite started by the launcher on free ports (tests/suite.py).

They need `/usr/bin/chromium` (`apt-get install chromium`), the Python `playwright` package (dev extras) and a
built dashboard (`make web`). Locally they skip with the reason when one is missing; under `.ci/run`
(FINETUNE_REQUIRE_BROWSER=1) a missing piece fails them instead. Screenshots of each page go to
`test-output/web/<test>/` (FINETUNE_TEST_OUTPUT overrides the folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.suite import ROOT, running_suite

CHROMIUM = os.environ.get("FINETUNE_CHROMIUM", "/usr/bin/chromium")
# FINETUNE_GATEWAY_WEB_DIR (the gateway's own setting) points the suite at another build, e.g. a private one.
DIST = Path(os.environ.get("FINETUNE_GATEWAY_WEB_DIR", ROOT / "web" / "dist"))
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = Path(os.environ.get("FINETUNE_TEST_OUTPUT", ROOT / "test-output")) / "web"
REQUIRED = os.environ.get("FINETUNE_REQUIRE_BROWSER") == "1"
# The flags these machines need: no sandbox as root, and no background connections to a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def missing() -> list[str]:
    reasons = []
    if not Path(CHROMIUM).exists():
        reasons.append(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is not installed (pip install -e '.[dev]')")
    if not (DIST / "index.html").exists():
        reasons.append("the dashboard is not built (make web)")
    if not AXE.exists():
        reasons.append("web/node_modules is missing (make web)")
    return reasons


def pytest_collection_modifyitems(config, items):
    reasons = missing()
    for item in items:
        if "tests/web/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not reasons:
                continue
            if REQUIRED:
                item.add_marker(pytest.mark.usefixtures("_browser_required"))
            else:
                item.add_marker(pytest.mark.skip(reason="browser tests need: " + "; ".join(reasons)
                                                 + " (`.ci/run` installs and requires them)"))


@pytest.fixture
def _browser_required():
    pytest.fail("browser tests are required here (FINETUNE_REQUIRE_BROWSER=1) but need: " + "; ".join(missing()))


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    """One suite for every browser test: each test makes the datasets and jobs it needs."""
    with running_suite(tmp_path_factory.mktemp("web-suite"), FINETUNE_TRAINER_SAMPLE_INTERVAL_SECONDS="0.5") as started:
        yield started


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageErrors(list):
    """Uncaught exceptions and console errors of a page: a test fails when any is left."""


@pytest.fixture
def page(browser, suite, request):
    context = browser.new_context(base_url=suite.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = PageErrors()
    allowed: list[str] = []  # a test that cuts the network on purpose adds patterns: page.allow_console.append(...)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" and not expected_console(msg.text)
            and not any(re.search(a, msg.text) for a in allowed) else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.allow_console = allowed  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, "the page reported errors:\n" + "\n".join(errors)


def expected_console(text: str) -> bool:
    """Console errors a test provokes on purpose: HTTP errors the page shows as messages, a WebSocket cut."""
    return bool(re.search(r"Failed to load resource: the server responded with a status of (4\d\d|503)|WebSocket", text))


@pytest.fixture
def shots(request):
    """`shots(page, "name")` saves a full-page screenshot under test-output/web/<test>/name.png."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2 A/AA checks on the page as it is now; the violations of the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return [v for v in result if v["impact"] in impacts]


def assert_accessible(page) -> None:
    found = axe_violations(page)
    assert not found, "accessibility violations:\n" + json.dumps(found, indent=1)
