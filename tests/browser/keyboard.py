"""Keyboard checks (WCAG 2.2: 2.1.1 Keyboard, 2.1.2 No Keyboard Trap, 2.4.1 Bypass Blocks,
2.4.7 Focus Visible): from the top of a page, Tab reaches the skip link first, then moves
through distinct elements, each visibly focused, to the last control on the page and out."""

from __future__ import annotations

# The styles a focus indicator can change. NHS.UK frontend draws focus with a yellow
# background and a black underline (box-shadow) on links, and an outline plus box-shadow on
# inputs and buttons (nhsuk-frontend core/tools/_focused.scss).
STYLE = """(el) => {
  const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor,
          s.color, s.borderColor, s.textDecorationLine].join('|');
}"""

DESCRIBE = """(el) => {
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
  return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${text.slice(0, 40)}"`;
}"""


def assert_keyboard_works(page, max_tabs: int = 250) -> int:
    """Tab from the top of the page to its end. Returns the number of stops."""
    # Start where a freshly loaded page starts, before everything in the body, whatever the
    # journey clicked last: focus a throwaway element placed first in the body.
    page.evaluate("""() => {
        window.__tabStops = [];
        const start = document.createElement('span');
        start.tabIndex = -1;
        start.id = 'keyboard-check-start';
        document.body.prepend(start);
        start.focus();
    }""")
    page.keyboard.press("Tab")
    page.evaluate("() => document.getElementById('keyboard-check-start').remove()")
    first = page.evaluate("() => document.activeElement.className")
    assert "nhsuk-skip-link" in first, (
        f"{page.url}: the first Tab should land on the skip link, not {first!r}")

    stops, focused_styles = [], []
    for _ in range(max_tabs):
        state = page.evaluate(f"""() => {{
            const el = document.activeElement;
            if (!el || el === document.body) return null;
            const index = window.__tabStops.indexOf(el);
            if (index === -1) window.__tabStops.push(el);
            return {{index, style: ({STYLE})(el), name: ({DESCRIBE})(el)}};
        }}""")
        if state is None or state["index"] != -1:
            break  # focus left the page or came round again: the end of the order
        stops.append(state["name"])
        focused_styles.append(state["style"])
        page.keyboard.press("Tab")

    # Tab got to the end of the page: the last element a keyboard can reach, in the order
    # of the document (the footer has no links, so that is usually in main).
    last = page.evaluate("""() => {
        const all = [...document.querySelectorAll(
            'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), ' +
            'select:not([disabled]), textarea:not([disabled]), summary, [tabindex]')]
            .filter((el) => el.tabIndex >= 0 && el.checkVisibility({visibilityProperty: true})
                    && !(el.type === 'radio' && !el.checked &&
                         el.form && [...el.form.elements].some((o) => o.name === el.name &&
                           o.type === 'radio' && o !== el && o.compareDocumentPosition(el) &
                           Node.DOCUMENT_POSITION_FOLLOWING)));
        const last = all.pop();
        return {reached: window.__tabStops.includes(last),
                name: last && last.outerHTML.slice(0, 80)};
    }""")
    assert last["reached"], (
        f"{page.url}: {len(stops)} presses of Tab never reached the page's last control "
        f"{last['name']}; focus stopped after {stops[-3:]} (a keyboard trap?)")

    # The same elements, unfocused: each must look different when focused.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    unfocused = page.evaluate(
        f"() => window.__tabStops.map((el) => ({STYLE})(el))")
    invisible = [name for name, on, off in zip(stops, focused_styles, unfocused, strict=True)
                 if on == off]
    assert not invisible, f"{page.url}: no visible focus indicator on {invisible}"
    return len(stops)
