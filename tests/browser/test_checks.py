"""The page checks catch what they are there to catch: they must be able to fail."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

BROKEN = """<!doctype html><html><head><title>Broken</title></head><body><main>
<h1>A broken page</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input type="text" name="nhs_number"></form>
<button hx-get="/swap" hx-target="#later" id="load">Load</button><div id="later"></div>
</main></body></html>"""

STRICT = """<!doctype html><html lang="en"><head><title>Strict</title></head><body><main>
<h1>Fine, apart from its inline script</h1>
<script>document.title = "ran";</script>
</main></body></html>"""


@pytest.fixture
def server():
    """A plain HTTP server outside Django, so the pages reach the browser as a real
    navigation would (a test's own page.route would run before the checks' route)."""
    pages: dict[str, tuple[str, dict]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body, headers = pages.get(self.path, ("not found", {}))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def serve(path, body, headers=None):
        pages[path] = (body, headers or {})
        return f"http://127.0.0.1:{httpd.server_port}{path}"

    yield serve
    httpd.shutdown()


def test_axe_reports_serious_and_critical_violations_on_a_page_left_at_once(
    page, checks, server
):
    broken = server("/", BROKEN)
    following = server("/next", "<!doctype html><html lang='en'><title>t</title>"
                                 "<main><h1>Next</h1></main></html>")
    page.goto(broken)
    # Leave straight away, as a fast journey would: the navigation waits for the checks.
    page.goto(following)
    page.context.close()
    rules = {rule for url, rule in checks.violations if url == broken}
    assert {"image-alt", "label", "html-has-lang"} <= rules, checks.report()
    assert following not in {url for url, _ in checks.violations}
    assert "image-alt" in checks.report() and "img" in checks.report()
    assert checks.rechecked in ([], [broken])  # checked on load, or again when left early
    checks.clear()  # the failures were the point of this test


def test_content_swapped_in_later_is_checked_too(page, checks, server):
    url = server("/", """<!doctype html><html lang="en"><title>t</title>
        <main><h1>Swap</h1><div id="later"></div></main></html>""")
    page.goto(url)
    page.evaluate("""() => {
        document.querySelector('#later').innerHTML = '<input type="checkbox">';
        document.body.dispatchEvent(new Event('htmx:afterSettle', {bubbles: true}));
    }""")
    page.wait_for_timeout(100)
    page.context.close()
    assert (url, "label") in checks.violations, checks.report()
    checks.clear()


def test_csp_refusals_and_uncaught_errors_are_reported_with_the_policy_enforced(
    page, checks, server
):
    url = server("/", STRICT, {"Content-Security-Policy": "default-src 'self'"})
    page.goto(url)
    assert page.title() == "Strict"  # the inline script was refused
    page.evaluate("() => setTimeout(() => { throw new Error('boom'); })")
    page.wait_for_timeout(100)
    page.context.close()
    report = checks.report()
    assert "inline script" in report and "Content Security Policy" in report, report
    assert "boom" in report, report
    # axe still ran under the strict policy (it is added by an init script).
    assert url in checks.checked
    checks.clear()


def test_the_checks_do_not_flag_a_clean_page(page, checks, server):
    url = server("/", """<!doctype html><html lang="en"><title>Clean</title>
        <main><h1>Clean</h1><label for="n">Name</label><input id="n"></main></html>""")
    page.goto(url)
    page.context.close()
    assert checks.checked == [url]
    assert not checks.violations and not checks.errors


KEYBOARD_PAGE = """<!doctype html><html lang="en"><title>Keys</title><style>
  .nhsuk-skip-link:focus {{ outline: 3px solid orange; }}
  a:focus, button:focus {{ outline: 3px solid orange; }}
  {extra}
</style><body><a class="nhsuk-skip-link" href="#main">Skip to main content</a>
<main id="main"><h1>Keys</h1><a href="#one">One</a> <a href="#two" id="two">Two</a>
<button id="last">Last</button>{script}</main></body></html>"""


def test_the_keyboard_check_passes_a_page_that_works_with_the_keyboard(page, server):
    from .keyboard import assert_keyboard_works

    page.goto(server("/", KEYBOARD_PAGE.format(extra="", script="")))
    assert assert_keyboard_works(page) == 4


def test_the_keyboard_check_catches_a_missing_focus_indicator(page, server):
    from .keyboard import assert_keyboard_works

    page.goto(server("/", KEYBOARD_PAGE.format(extra="#two:focus { outline: none; }",
                                               script="")))
    with pytest.raises(AssertionError, match=r"no visible focus indicator on \['a#two"):
        assert_keyboard_works(page)


def test_the_keyboard_check_catches_a_keyboard_trap(page, server, checks):
    from .keyboard import assert_keyboard_works

    trap = ("<script>document.getElementById('two').addEventListener('keydown', (e) => {"
            "if (e.key === 'Tab') { e.preventDefault(); } });</script>")
    page.goto(server("/", KEYBOARD_PAGE.format(extra="", script=trap)))
    with pytest.raises(AssertionError, match="never reached the page's last control"):
        assert_keyboard_works(page)
