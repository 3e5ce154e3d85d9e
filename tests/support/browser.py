"""Debian's Chromium driven by Playwright: the browser every browser test uses."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed"
)


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def log_in(page, base: str, name: str, lands_on: str = "/labeler") -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_url(base + lands_on)


def open_assisted_task(page, base: str, names: list[str]) -> int:  # type: ignore[no-untyped-def]
    """Log in as each labeler in turn until one's next task shows model critiques (which
    condition comes first depends on the experiment's seed); that task's id."""
    for name in names:
        page.context.clear_cookies()
        log_in(page, base, name)
        page.click("text=Next task")
        page.wait_for_url(f"{base}/tasks/*")
        if page.locator("#assistance").count():
            return int(page.url.rsplit("/", 1)[1])
    raise AssertionError("no labeler got an assisted task")


WIDE = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parents[2] / "static/node_modules/axe-core/axe.min.js"


class ConsoleErrors:
    """Console errors and uncaught exceptions of a page (a 404 for a resource is one)."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def take(self) -> list[str]:
        taken, self.errors = self.errors, []
        return taken


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core (pinned in static/package.json) run on the page as it stands."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci --prefix static`")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # From the app's own /static, as a script file: the Content-Security-Policy refuses
        # the inline script that add_script_tag(path=...) would insert.
        page.add_script_tag(url="/static/node_modules/axe-core/axe.min.js")
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
    return [
        f"{v['impact']} {v['id']}: {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in found
        if v["impact"] in impacts
    ]
