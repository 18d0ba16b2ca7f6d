"""Hypothesis strategies for fuzzing forms and importers (tests/test_fuzz_*.py).

A value for a form field is either plausible (so a submission sometimes gets past the form
into the service behind it) or hostile: NUL bytes, right-to-left marks, emoji, very long
text, numbers too big for any database column, non-ASCII digits, dates that do not exist or
are written the wrong way round. Every run is derandomised, so CI sees the same examples
each time (hypothesis.readthedocs.io, "Settings: derandomize").
"""

import datetime

from django import forms
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# The fuzz tests build a programme once per test and post many examples into it.
# No shrinking: a failure in a page can take Hypothesis minutes to shrink, and the failing
# example it prints unshrunk is enough to write the plain regression test from.
settings.register_profile(
    "fuzz", max_examples=15, derandomize=True, deadline=None, database=None, print_blob=False,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fuzz")

TODAY = datetime.date.today()  # noqa: DTZ011 - calendar dates around the run

NASTY = [
    "", " ", "   \t\n", "\x00", "a\x00b", "\u202eevil", "\u200f\u05e9\u05dc\u05d5\u05dd",
    "\ufeffBOM", "😷🩺👩🏽‍⚕️", "٣", "١٢٣", "１２", "²", "Ⅻ", "-1", "0", "-0", "1.5", "1,200",
    "99999999999999999999999", "-99999999999999999999999", "1e400", "NaN", "inf", "-inf",
    "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "10000-01-01", "0001-01-01",
    "31/12/1999", "12/31/1999", "2026-3-2", "2 March 2026", "Mar 2026", "2026 Q5",
    "24:60", "25:00", "-1:00", "13:30:99", "=cmd|' /C calc'!A0", "@SUM(A1)", "+1+1",
    "<script>alert(1)</script>", "' OR 1=1 --", "%s%n%x", "{{ 7*7 }}", "\r\n\r\n", "None",
    "null", "true", "on", "[]", "{}", "x" * 10_000, "ß" * 3000, "\u0301" * 500,
]

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)

plain_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F),
                     min_size=1, max_size=60).filter(str.strip)

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d %B %Y", "%Y%m%d", "%d-%m-%y"]
near_dates = st.dates(min_value=TODAY - datetime.timedelta(days=800),
                      max_value=TODAY + datetime.timedelta(days=400))
odd_dates = st.one_of(
    near_dates.map(datetime.date.isoformat),
    st.builds(lambda d, f: d.strftime(f), st.dates(min_value=datetime.date(1000, 1, 1)),
              st.sampled_from(DATE_FORMATS)),
    st.sampled_from(["2026-02-29", "2024-02-29", "1899-12-31", "0999-01-01"]),
)


def _choice_values(field: forms.Field) -> list[str]:
    values = []
    for value, label in getattr(field, "choices", []):
        if isinstance(label, (list, tuple)):  # an optgroup
            values.extend(str(v) for v, _ in label)
        else:
            values.append(str(getattr(value, "value", value)))
    return [v for v in values if v != ""] or [""]


def field_values(field: forms.Field) -> st.SearchStrategy:
    """Strings (or lists of strings, for fields that take several values) for one field."""
    if isinstance(field, forms.FileField):
        return st.just("")
    if isinstance(field, (forms.ModelMultipleChoiceField, forms.MultipleChoiceField)):
        item = st.one_of(st.sampled_from(_choice_values(field)), nasty_text)
        return st.lists(item, max_size=4)
    if isinstance(field, (forms.ModelChoiceField, forms.ChoiceField)):
        plausible = st.sampled_from(_choice_values(field))
    elif isinstance(field, forms.BooleanField):
        plausible = st.sampled_from(["on", "", "false", "0", "1"])
    elif isinstance(field, forms.DateField):
        plausible = odd_dates
    elif isinstance(field, forms.TimeField):
        plausible = st.times().map(lambda t: t.strftime(st_time_format(t)))
    elif isinstance(field, (forms.IntegerField, forms.FloatField, forms.DecimalField)):
        plausible = st.one_of(st.integers(min_value=-5, max_value=500).map(str),
                              st.decimals(allow_nan=False, allow_infinity=False,
                                          places=3).map(str))
    elif isinstance(field, forms.EmailField):
        plausible = st.emails().map(str)
    elif isinstance(field, forms.UUIDField):
        plausible = st.uuids().map(str)
    else:
        plausible = plain_text
    # A single-value field posted twice: Django takes the last, which must still be safe.
    twice = st.lists(st.one_of(plausible, nasty_text), min_size=2, max_size=3)
    return st.one_of(plausible, plausible, nasty_text, twice)


def st_time_format(value: datetime.time) -> str:
    return "%H:%M" if value.second == 0 else "%H:%M:%S"


def form_data(form: forms.BaseForm, *, fixed: dict | None = None) -> st.SearchStrategy:
    """A POST body for ``form``: each field present or missing, plus unknown keys."""
    optional = {form.add_prefix(name): field_values(field)
                for name, field in form.fields.items()}
    extra = st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in optional),
                            nasty_text, max_size=2)
    return st.builds(lambda data, more: {**more, **data, **(fixed or {})},
                     st.fixed_dictionaries({}, optional=optional), extra)


def assert_not_a_server_error(response) -> None:
    # The test client re-raises an exception in a view, so a 500 usually fails before this;
    # this catches a view that answers 5xx on purpose.
    assert response.status_code < 500, response.status_code
