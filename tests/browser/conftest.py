"""Browser journeys: Playwright drives Debian's chromium against Django's live server.

The browser is never downloaded by the test tool; CHROMIUM names the executable.

Every context a test opens (through the `page` and `phone` fixtures or `browser.new_context`)
is instrumented by `checks.instrument`: axe-core runs on every page visited and the test fails
at teardown on any serious or critical violation, Content-Security-Policy refusal or uncaught
JavaScript error. Screenshots land in test-artifacts/screenshots/<journey>/ (docs/testing.md).
"""

import os
from pathlib import Path

import pytest

from .checks import PageChecks, finish, instrument

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still synchronous and safe (pytest-django's documented setting).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}; install Debian's chromium package")
    if not Path(__file__).resolve().parents[2].joinpath(
            "node_modules", "axe-core", "axe.min.js").exists():
        pytest.fail("axe-core is missing: run `npm ci` (or `make install`)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


class CheckedBrowser:
    """The session's browser, handing out contexts that run the page checks."""

    def __init__(self, browser, checks: PageChecks):
        self._browser = browser
        self.checks = checks
        self.contexts = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        instrument(context, self.checks)
        close = context.close

        def close_after_checks(**close_kwargs):
            finish(context, self.checks)
            close(**close_kwargs)
            if context in self.contexts:
                self.contexts.remove(context)

        context.close = close_after_checks
        self.contexts.append(context)
        return context

    def close_all(self) -> None:
        for context in list(self.contexts):
            context.close()

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture
def checks():
    return PageChecks()


@pytest.fixture
def browser(chromium, checks):
    checked = CheckedBrowser(chromium, checks)
    yield checked
    checked.close_all()
    print(f"\naxe-core checked {len(checks.checked)} page loads and swaps "
          f"({len(checks.rechecked)} opened again at the end)")
    if checks.violations or checks.errors:
        pytest.fail("Accessibility or browser errors on the pages this journey visited "
                    "(serious or critical axe-core violations, CSP refusals, uncaught "
                    "JavaScript errors):\n" + checks.report(), pytrace=False)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def journey_folder(request) -> Path:
    return SCREENSHOTS / request.node.name.removeprefix("test_")


@pytest.fixture
def screenshot(request):
    """screenshot(page, "name") saves the whole page at desktop and phone widths, as
    test-artifacts/screenshots/<journey>/<name>-desktop.png and <name>-phone.png."""
    folder = journey_folder(request)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        original = page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(original)

    return take


@pytest.fixture
def close_up(request):
    """close_up(locator, "name") saves one element at the page's current width, for
    looking at a diagram or chart at its real size."""
    folder = journey_folder(request)
    folder.mkdir(parents=True, exist_ok=True)

    def take(locator, name: str) -> None:
        locator.screenshot(path=str(folder / f"{name}.png"))

    return take
