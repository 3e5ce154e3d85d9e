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
