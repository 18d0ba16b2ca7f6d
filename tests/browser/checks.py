"""Checks that run on every page a journey visits: axe-core for accessibility, and the
browser's console for Content-Security-Policy refusals and uncaught JavaScript errors.

How every page is covered, whether reached by goto, a click, a form post or an htmx swap:

- axe-core (node_modules/axe-core, installed by `npm ci`, never from a CDN) is added to every
  document with an init script (CDP's Page.addScriptToEvaluateOnNewDocument). Init scripts
  are not subject to the page's Content-Security-Policy, so the app's strict policy stays
  enforced and its refusals stay visible, instead of being switched off with bypass_csp.
- In the page, axe runs once the document has loaded and again after htmx settles a swap; it
  reports serious and critical violations to Python through an exposed binding.
- Every document that loads is noted. When a context closes (at teardown, or when a test
  closes it), `finish` waits for the checks still running and opens again, in the same
  context, any address the journey left before its checks had finished, so a quick click
  onwards never skips a page. (Holding the navigation back from a route handler until the
  checks finish is not possible: Playwright's evaluate waits for the held navigation.)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.0, 2.1 and 2.2 at levels A and AA: the public sector accessibility regulations
# (2018) require WCAG 2.2 AA. axe-core tags each rule with the criteria it tests
# (https://github.com/dequelabs/axe-core/blob/develop/doc/API.md#axe-core-tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = ("serious", "critical")
# (rule, CSS selector) pairs not reported. Each is a component we use unchanged, checked by
# hand: NHS.UK frontend's file upload (components/file-upload) names its drop button by
# aria-labelledby "<label>, <button's own text>", so the visible text is in the name and
# speech input works; axe's label-content-name-mismatch still flags it.
IGNORED = [("label-content-name-mismatch", ".nhsuk-file-upload__drop-button")]

# Runs in every document. window.__ilcopChecks.settle() resolves once no check is running.
IN_PAGE = """
(() => {
  if (window.top !== window || !window.axe) return;
  const options = {runOnly: {type: 'tag', values: __TAGS__}, resultTypes: ['violations']};
  const failing = __IMPACTS__;
  const ignored = __IGNORED__;
  const wanted = (v, n) => !ignored.some(([rule, css]) => rule === v.id &&
    n.target.length === 1 && document.querySelector(n.target[0])?.matches(css));
  let chain = Promise.resolve();
  let queued = false;
  const run = (why) => {
    if (queued) return chain;
    queued = true;
    chain = chain.then(async () => {
      queued = false;
      if (!document.body || location.protocol === 'about:') return;
      try {
        const results = await window.axe.run(document, options);
        const found = results.violations
          .map((v) => ({...v, nodes: v.nodes.filter((n) => wanted(v, n))}))
          .filter((v) => failing.includes(v.impact) && v.nodes.length)
          .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
        await window.__ilcopReport({kind: 'axe', url: location.href, why, found});
      } catch (error) {
        await window.__ilcopReport({kind: 'axe-error', url: location.href, why,
                                    found: String(error)});
      }
    });
    return chain;
  };
  window.__ilcopChecks = {run, settle: () => chain};
  if (document.readyState === 'complete') {
    run('load');
  } else {
    window.addEventListener('load', () => run('load'), {once: true});
  }
  // htmx fires htmx:afterSettle on the body once swapped content is in place.
  document.addEventListener('htmx:afterSettle', () => setTimeout(() => run('htmx swap'), 50));
})();
""".replace("__TAGS__", json.dumps(WCAG_TAGS)).replace(
    "__IMPACTS__", json.dumps(FAILING_IMPACTS)).replace("__IGNORED__", json.dumps(IGNORED))


@dataclass
class PageChecks:
    """What the checks found during one test, across every context and page it opened."""

    violations: dict[tuple[str, str], dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    loaded: list[tuple[object, str]] = field(default_factory=list)
    rechecked: list[str] = field(default_factory=list)

    def record(self, payload: dict) -> None:
        url = payload["url"]
        if payload["kind"] == "axe-error":
            self.errors.append(f"axe could not run on {url}: {payload['found']}")
            return
        self.checked.append(_without_fragment(url))
        for violation in payload["found"]:
            self.violations.setdefault((url, violation["id"]), violation)

    def clear(self) -> None:
        self.violations.clear()
        self.errors.clear()

    def report(self) -> str:
        lines = []
        for (url, rule), v in self.violations.items():
            lines.append(f"- {url}\n    {v['impact']}: {rule}: {v['help']}\n"
                         f"    at {'; '.join(v['targets'])}")
        lines += [f"- {error}" for error in self.errors]
        return "\n".join(lines)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def settle(page) -> None:
    """Wait until the checks of the document on screen have finished."""
    if page.is_closed():
        return
    # If the document goes while we wait, `finish` checks its address again.
    with contextlib.suppress(Exception):
        page.evaluate("() => window.__ilcopChecks && window.__ilcopChecks.settle()")


def finish(context, checks: PageChecks) -> None:
    """Wait for the checks on the pages still open, then check again any page the journey
    left before its checks finished, by opening its address in the same context (same
    person signed in). A page that answered a form post is checked as its GET shows it."""
    for page in context.pages:
        settle(page)
    done = set(checks.checked)
    missed = []
    for owner, url in checks.loaded:
        url = _without_fragment(url)
        if owner is context and url.startswith("http") and url not in done | set(missed):
            missed.append(url)
    for url in missed:
        page = context.new_page()
        try:
            page.goto(url, timeout=10_000)
            settle(page)
        except Exception as error:  # noqa: BLE001 - reported, and the test fails
            checks.errors.append(f"{url} could not be checked again: {error}")
        finally:
            page.close()
    checks.rechecked.extend(missed)


def instrument(context, checks: PageChecks) -> None:
    """Add the checks to a browser context: every page it opens is checked."""
    context.expose_binding("__ilcopReport", lambda _source, payload: checks.record(payload))
    context.add_init_script(path=str(AXE))
    context.add_init_script(script=IN_PAGE)


    def on_console(message):
        # Chromium reports a Content-Security-Policy refusal as a console error: "Refused
        # to load/apply/connect..." and, in recent versions, "Executing inline script
        # violates the following Content Security Policy directive...".
        if message.type == "error" and (message.text.startswith("Refused to")
                                        or "Content Security Policy" in message.text):
            checks.errors.append(f"{message.location.get('url', '')}: {message.text}")

    def watch(page):
        if getattr(page, "_ilcop_watched", False):
            return
        page._ilcop_watched = True
        page.on("load", lambda: checks.loaded.append((context, page.url)))
        page.on("console", on_console)
        page.on("pageerror", lambda error: checks.errors.append(
            f"{page.url}: uncaught JavaScript error: {error}"))

    # context.on("page") alone could attach the listeners after a quick first load, so
    # pages the test opens are watched as they are made; the event catches pop-ups.
    context.on("page", watch)
    new_page = context.new_page

    def new_watched_page():
        page = new_page()
        watch(page)
        return page

    context.new_page = new_watched_page
