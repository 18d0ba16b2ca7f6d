"""Fuzzing the self-report area's forms through their pages (tests/test_fuzz_forms.py lists
them in NOT_POSTED_HERE because its world has no one-way programme): bad input gets a message,
never a server error."""

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from programmes import forms_self_report as forms
from programmes.selectors.participants import participant_sites
from programmes.selectors.surveillance import programme_indicators

from .fuzz import FUZZ, assert_not_a_server_error, form_data
from .test_oneway_self_report import ow  # noqa: F401 - the fixture

P = "/programmes/{programme}/"
TARGETS = {
    "standard add": (P + "standards/add/", "core", lambda w: forms.StandardForm()),
    "indicator add": (P + "quality-indicators/add/", "core",
                      lambda w: forms.QualityIndicatorForm(programme=w.programme)),
    "indicator edit": (P + "quality-indicators/{indicator}/edit/", "core",
                       lambda w: forms.QualityIndicatorForm(programme=w.programme)),
    "indicator flag": (P + "quality-indicators/{indicator}/flag/", "core",
                       lambda w: forms.FlagForm(prefix="flag")),
    "indicator revise": (P + "quality-indicators/{indicator}/revise/", "core",
                         lambda w: forms.ReviseForm(prefix="revise")),
    "cycle add": (P + "self-reports/add/", "core", lambda w: forms.CycleForm()),
    "cycle edit": (P + "self-reports/{cycle}/edit/", "core", lambda w: forms.CycleForm()),
    "self-report": ("/sites/{site}/self-report/", "lead",
                    lambda w: forms.SelfReportForm(
                        indicators=programme_indicators(w.programme))),
    "evidence add": ("/sites/{site}/self-report/evidence/add/", "lead",
                     lambda w: forms.EvidenceForm(programme=w.programme)),
    "hub add": (P + "hubs/add/", "core",
                lambda w: forms.HubForm(sites=participant_sites(w.programme))),
    "hub edit": (P + "hubs/{hub}/edit/", "core",
                 lambda w: forms.HubForm(sites=participant_sites(w.programme))),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
@FUZZ
@given(data=st.data())
def test_posting_anything_to_a_self_report_form_is_never_a_server_error(ow, name,  # noqa: F811
                                                                        data):
    url, person, make = TARGETS[name]
    client = Client()
    client.force_login(getattr(ow, person))
    url = url.format(programme=ow.programme.pk, indicator=ow.indicators[0].pk,
                     site=ow.site_a.pk, hub=ow.hub.pk, cycle=ow.cycle.pk)
    response = client.post(url, data.draw(form_data(make(ow)), label="POST"))
    assert_not_a_server_error(response)
    if response.status_code == 200:
        page = response.content.decode()
        assert "nhsuk-error-summary" in page or "<form" in page
