"""CSV and Excel exports: what each file holds, for whom, and that it streams.

The world: ``site`` (Dr Lena Lead's) is paired with ``other_site``; a third and a fourth
site form another pair. ``site`` hosted ``other_site``; the third hosted the fourth. Every
site has a plan, and ``other_site`` shares its plan with its partner, so the lead may read
it on its page, but it is the other team's to export.
"""

import csv
import datetime
import io
import re
import tracemalloc
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ilcop import exports
from programmes.models import Enrolment, Pair, Pairing, SiteMembership
from qips.models import Measure, Measurement, ProgressUpdate, QualityImprovementPlan
from visits.models import Visit, VisitAttendee

from .factories import EnrolmentFactory, SiteMembershipFactory

DOCS = Path(__file__).resolve().parent.parent / "docs" / "exports.md"
LONDON_SUMMER = datetime.timezone(datetime.timedelta(hours=1))
# 24 November 2026, 09:00 in London (GMT): the day in the file names.
NOW = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def plan_with_data(programme, site, title, months=3, **fields):
    plan = QualityImprovementPlan.objects.create(programme=programme, site=site, title=title,
                                                 **fields)
    measure = Measure.objects.create(
        plan=plan, kind="outcome", name=f"{title} measure", numerator="Patients seen",
        denominator="Patients referred", data_source="MDT log", direction="increase",
        baseline=40.0, target=80.0)
    add_months(measure, 0, months)
    ProgressUpdate.objects.create(plan=plan, month=datetime.date(2026, 1, 1),
                                  done=f"{title}: we started", rag="amber")
    return plan, measure


def add_months(measure, start, n):
    Measurement.objects.bulk_create(
        Measurement(measure=measure, period=datetime.date(2020 + m // 12, m % 12 + 1, 1),
                    numerator=10 + m % 7, denominator=40) for m in range(start, start + n))


@pytest.fixture
def world(programme, site, other_site, core, lead, other_lead, facilitator):
    third = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
    fourth = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
    third_lead = SiteMembershipFactory(site=third, role=SiteMembership.Role.CLINICAL_LEAD,
                                       user__full_name="Tom Third").user
    Enrolment.objects.filter(site=site).update(approved_on=datetime.date(2026, 2, 3))
    confirmed_at = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED,
                                     confirmed_at=confirmed_at)
    ours = Pair.objects.create(pairing=pairing, site_a=site, site_b=other_site, score=1.5,
                               strengths_a=["HISTO", "CNS"], strengths_b=["SURG"])
    theirs = Pair.objects.create(pairing=pairing, site_a=third, site_b=fourth, score=0.9)
    shared = Visit.objects.create(programme=programme, pair=ours, host=site, visitor=other_site,
                                  status=Visit.Status.HAPPENED, date=datetime.date(2026, 5, 12),
                                  start_time=datetime.time(9, 30), facilitator=facilitator)
    elsewhere = Visit.objects.create(programme=programme, pair=theirs, host=third,
                                     visitor=fourth, date=datetime.date(2026, 6, 2))
    VisitAttendee.objects.create(visit=shared, user=lead, team="host", role="clinical_lead",
                                 present=True)
    VisitAttendee.objects.create(visit=shared, user=other_lead, team="visiting",
                                 role="clinical_lead", present=False)
    VisitAttendee.objects.create(visit=shared, user=facilitator, team="facilitator",
                                 role="facilitator")
    VisitAttendee.objects.create(visit=elsewhere, user=third_lead, team="host",
                                 role="clinical_lead")
    own_plan, own_measure = plan_with_data(
        programme, site, "Faster diagnosis", status="approved",
        # 10:30 in London in summer is 09:30 UTC.
        approved_at=datetime.datetime(2026, 7, 1, 10, 30, tzinfo=LONDON_SUMMER),
        aim_by_when=datetime.date(2027, 3, 31), share_with_partner=True)
    partner_plan, _ = plan_with_data(programme, other_site, "Partner's shared plan",
                                     share_with_partner=True)
    third_plan, _ = plan_with_data(programme, third, "Third site's plan")
    return {"third": third, "fourth": fourth, "ours": ours, "theirs": theirs, "shared": shared,
            "elsewhere": elsewhere, "own_plan": own_plan, "own_measure": own_measure,
            "partner_plan": partner_plan, "third_plan": third_plan}


def url(programme, slug, fmt):
    return f"/programmes/{programme.pk}/exports/{slug}.{fmt}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(response) -> list[dict[str, str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(body(response)))


def get_csv(client, programme, slug):
    response = client.get(url(programme, slug, "csv"))
    assert response.status_code == 200
    return read_csv(response)


# --- The machinery -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (None, ""),
    (True, "TRUE"),
    (False, "FALSE"),
    (0, "0"),
    (-3, "-3"),
    (12.5, "12.5"),
    (datetime.date(2026, 11, 24), "2026-11-24"),
    (datetime.time(13, 30), "13:30"),
    (datetime.datetime(2026, 7, 1, 10, 30, tzinfo=LONDON_SUMMER), "2026-07-01T09:30:00Z"),
    (datetime.datetime(2026, 1, 1, 0, 0, 5, tzinfo=datetime.UTC), "2026-01-01T00:00:05Z"),
    ("Plain text", "Plain text"),
    ("Zoë Ångström", "Zoë Ångström"),
])
def test_csv_cells(value, expected):
    assert exports.csv_cell(value) == expected


@pytest.mark.parametrize("text", ["=1+2", "+44 20", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://x.example","Click")'])
def test_text_a_spreadsheet_would_run_starts_with_an_apostrophe(text):
    assert exports.csv_cell(text) == "'" + text
    assert exports.xlsx_cell(None, text) == "'" + text


def test_text_that_merely_contains_a_trigger_is_unchanged():
    assert exports.csv_cell("A = B + C") == "A = B + C"


def test_every_registered_dataset_in_order():
    assert [d.slug for d in exports.datasets()] == [
        "sites", "enrolments", "pairs", "visits", "attendance", "plans", "measures",
        "measurements", "progress-updates"]


def test_a_second_dataset_with_the_same_name_is_refused():
    existing = exports.datasets()[0]
    with pytest.raises(ValueError, match="already registered"):
        exports.register(existing)


def test_no_export_carries_an_email_address_or_phone_number():
    for dataset in exports.datasets():
        for column in dataset.columns:
            assert "email" not in column.field and "phone" not in column.field, column


def test_every_column_is_documented():
    """docs/exports.md lists each dataset's columns, and no others, so it cannot drift."""
    docs = DOCS.read_text()
    for dataset in exports.datasets():
        heading = re.search(rf"^## .*\(`{re.escape(dataset.slug)}`\)$", docs, re.MULTILINE)
        assert heading, f"docs/exports.md has no section for {dataset.slug}"
        section = docs[heading.end():]
        section = section[:section.find("\n## ")] if "\n## " in section else section
        documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
        assert documented == [c.heading for c in dataset.columns], dataset.slug


# --- What the core team gets ---------------------------------------------------------------

def test_the_core_team_gets_every_row_of_the_programme(as_core, programme, world, site):
    visits = get_csv(as_core, programme, "visits")
    assert [int(r["visit_id"]) for r in visits] == [world["shared"].pk, world["elsewhere"].pk]
    plans = get_csv(as_core, programme, "plans")
    assert {r["title"] for r in plans} == {"Faster diagnosis", "Partner's shared plan",
                                          "Third site's plan"}
    assert len(get_csv(as_core, programme, "sites")) == 4
    assert len(get_csv(as_core, programme, "pairs")) == 2
    assert len(get_csv(as_core, programme, "measurements")) == 9


def test_csv_headings_and_values(as_core, programme, world, site, other_site):
    response = as_core.get(url(programme, "visits", "csv"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    slug = "lung-cancer-peer-review-2026"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{slug}-visits-2026-11-24.csv"')
    rows = read_csv(response)
    assert list(rows[0]) == [c.heading for c in exports.dataset("visits").columns]
    shared = rows[0]
    assert shared["host_site_code"] == site.code
    assert shared["visitor_site_code"] == other_site.code
    assert shared["pair_id"] == str(world["ours"].pk)
    assert shared["status"] == "happened"
    assert shared["date"] == "2026-05-12"
    assert shared["start_time"] == "09:30"
    assert shared["end_time"] == ""
    assert shared["facilitator"] == "Fran Facilitator"
    assert shared["confirmed_without_minimum"] == "FALSE"


def test_moments_are_utc_and_dates_iso(as_core, programme, world):
    plan = next(r for r in get_csv(as_core, programme, "plans")
                if r["title"] == "Faster diagnosis")
    assert plan["approved_at"] == "2026-07-01T09:30:00Z"
    assert plan["aim_by_when"] == "2027-03-31"
    assert plan["shared_with_partner"] == "TRUE"
    assert plan["shared_with_programme"] == "FALSE"
    assert plan["category"] == ""


def test_enrolments_keep_the_arm_of_a_site_that_withdrew(as_core, programme, world, site,
                                                          other_site):
    Enrolment.objects.filter(site=other_site).update(status="withdrawn",
                                                      withdrawn_from="intervention",
                                                      withdrawn_reason="Lost the lead")
    rows = {r["site_code"]: r for r in get_csv(as_core, programme, "enrolments")}
    assert rows[site.code]["arm"] == "intervention"
    assert rows[site.code]["withdrawn"] == "FALSE"
    assert rows[site.code]["approved_on"] == "2026-02-03"
    gone = rows[other_site.code]
    assert (gone["status"], gone["arm"], gone["withdrawn"], gone["withdrawn_from"],
            gone["withdrawn_reason"]) == ("withdrawn", "intervention", "TRUE", "intervention",
                                          "Lost the lead")


def test_pairs_sites_and_measurements(as_core, programme, world, site, other_site):
    pair = next(r for r in get_csv(as_core, programme, "pairs")
                if r["pair_id"] == str(world["ours"].pk))
    assert (pair["site_a_code"], pair["site_b_code"]) == (site.code, other_site.code)
    assert pair["site_a_strengths"] == "HISTO; CNS"
    assert pair["score"] == "1.5"
    assert pair["confirmed_at"] == "2026-03-01T12:00:00Z"

    ours = next(r for r in get_csv(as_core, programme, "sites") if r["site_code"] == site.code)
    assert ours["mdt_day"] == "Tuesday"
    assert ours["mdt_time"] == "13:30"
    assert ours["region"] == "london"
    assert ours["ods_code"] == site.organisation.code
    assert "latitude" not in ours

    measure = world["own_measure"]
    points = [r for r in get_csv(as_core, programme, "measurements")
              if r["measure_id"] == str(measure.pk)]
    assert [p["period"] for p in points] == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert points[0] == {"measure_id": str(measure.pk), "plan_id": str(world["own_plan"].pk),
                         "site_code": site.code, "period": "2020-01-01", "numerator": "10",
                         "denominator": "40", "value": ""}


def test_attendance_names_people_by_site_and_never_by_email(as_core, programme, world, site,
                                                           other_site, lead, other_lead):
    rows = get_csv(as_core, programme, "attendance")
    shared = [r for r in rows if r["visit_id"] == str(world["shared"].pk)]
    assert [(r["team"], r["site_code"], r["name"], r["present"]) for r in shared] == [
        ("facilitator", "", "Fran Facilitator", ""),
        ("host", site.code, "Dr Lena Lead", "TRUE"),
        ("visiting", other_site.code, other_lead.full_name, "FALSE"),
    ]
    assert shared[1]["visit_date"] == "2026-05-12"
    everything = body(as_core.get(url(programme, "attendance", "csv"))).decode()
    assert lead.email not in everything and "@" not in everything


def test_the_excel_file_matches_the_csv(as_core, programme, world):
    response = as_core.get(url(programme, "plans", "xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_TYPE
    assert response["Cache-Control"] == "private, no-store"
    assert "lung-cancer-peer-review-2026-plans-2026-11-24.xlsx" in response["Content-Disposition"]
    workbook = read_xlsx(response)
    assert workbook.sheetnames == ["Improvement plans", "About"]
    rows = list(workbook["Improvement plans"].iter_rows(values_only=True))
    headings = [c.heading for c in exports.dataset("plans").columns]
    assert list(rows[0]) == headings
    plan = dict(zip(headings, next(r for r in rows if r[3] == "Faster diagnosis"), strict=True))
    # Excel holds no time zone: the moment is written in UTC, a date as midnight.
    assert plan["approved_at"] == datetime.datetime(2026, 7, 1, 9, 30)  # noqa: DTZ001
    assert plan["aim_by_when"] == datetime.datetime(2027, 3, 31)  # noqa: DTZ001
    assert plan["shared_with_partner"] is True
    assert plan["category"] is None
    cells = {c.column_letter: c for c in workbook["Improvement plans"][2]}
    approved = cells[openpyxl.utils.get_column_letter(headings.index("approved_at") + 1)]
    by_when = cells[openpyxl.utils.get_column_letter(headings.index("aim_by_when") + 1)]
    assert approved.number_format == exports.XLSX_DATETIME_FORMAT
    assert by_when.number_format == "yyyy-mm-dd"

    about = {r[0]: r[1] for r in workbook["About"].iter_rows(values_only=True) if r and r[0]}
    assert about["Whose data"] == "Everything in the programme"
    assert about["approved_at"].startswith("When the core team approved")


def test_formulas_are_neutralised_in_both_formats(as_core, programme, world, site):
    QualityImprovementPlan.objects.filter(pk=world["own_plan"].pk).update(
        title='=HYPERLINK("http://evil.example","Click")', aim_what="-1+1",
        aim_for_whom="@patients")
    plan = next(r for r in get_csv(as_core, programme, "plans")
                if r["plan_id"] == str(world["own_plan"].pk))
    assert plan["title"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert plan["aim_what"] == "'-1+1"
    assert plan["aim_for_whom"] == "'@patients"

    sheet = read_xlsx(as_core.get(url(programme, "plans", "xlsx")))["Improvement plans"]
    title = next(c for c in sheet["D"] if str(c.value).startswith("'="))
    assert title.data_type == "s"
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_characters_excel_cannot_hold_do_not_break_the_workbook(as_core, programme, world):
    ProgressUpdate.objects.filter(plan=world["own_plan"]).update(done="Bell\x07 and tab\tok",
                                                                 barriers="x" * 40_000)
    sheet = read_xlsx(as_core.get(url(programme, "progress-updates", "xlsx")))[
        "Progress updates"]
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == world["own_plan"].pk)
    assert row[4] == "Bell and tab\tok"
    assert len(row[6]) == exports.XLSX_MAX_CELL and row[6].endswith("[…]")
    # The CSV keeps the text whole.
    update = next(r for r in get_csv(as_core, programme, "progress-updates")
                  if r["plan_id"] == str(world["own_plan"].pk))
    assert len(update["barriers"]) == 40_000


def test_accented_names_survive(as_core, programme, world, lead):
    lead.full_name = "Dr Zoë Ångström"
    lead.save()
    names = {r["name"] for r in get_csv(as_core, programme, "attendance")}
    assert "Dr Zoë Ångström" in names
    sheet = read_xlsx(as_core.get(url(programme, "attendance", "xlsx")))["Attendance"]
    assert "Dr Zoë Ångström" in {r[4] for r in sheet.iter_rows(values_only=True)}


# --- What a site member gets ---------------------------------------------------------------

def test_a_site_member_gets_only_their_own_sites_rows(client_for, programme, world, site,
                                                      other_site, lead, other_lead):
    client = client_for(lead)
    assert [r["site_code"] for r in get_csv(client, programme, "sites")] == [site.code]
    assert [r["site_code"] for r in get_csv(client, programme, "enrolments")] == [site.code]
    assert [r["pair_id"] for r in get_csv(client, programme, "pairs")] == [
        str(world["ours"].pk)]
    assert [r["visit_id"] for r in get_csv(client, programme, "visits")] == [
        str(world["shared"].pk)]
    # The other team's people at a shared visit are on the visit page for both teams.
    attendance = get_csv(client, programme, "attendance")
    assert {r["visit_id"] for r in attendance} == {str(world["shared"].pk)}
    assert other_lead.full_name in {r["name"] for r in attendance}
    assert "Tom Third" not in {r["name"] for r in attendance}
    # The partner shares its plan with this team, but it is the partner's to export.
    own = str(world["own_plan"].pk)
    assert [r["title"] for r in get_csv(client, programme, "plans")] == ["Faster diagnosis"]
    assert {r["plan_id"] for r in get_csv(client, programme, "measures")} == {own}
    assert {r["plan_id"] for r in get_csv(client, programme, "measurements")} == {own}
    assert {r["plan_id"] for r in get_csv(client, programme, "progress-updates")} == {own}
    everything = b"".join(body(client.get(url(programme, d.slug, "csv")))
                          for d in exports.datasets()).decode()
    assert "Partner's shared plan" not in everything
    assert "Third site's plan" not in everything
    assert world["third"].code not in everything


def test_a_site_members_excel_file_says_whose_data_it_is(client_for, programme, world, cns,
                                                         site):
    workbook = read_xlsx(client_for(cns).get(url(programme, "plans", "xlsx")))
    titles = [r[3] for r in workbook["Improvement plans"].iter_rows(min_row=2, values_only=True)]
    assert titles == ["Faster diagnosis"]
    about = {r[0]: r[1] for r in workbook["About"].iter_rows(values_only=True) if r and r[0]}
    assert about["Whose data"] == f"Your site's data: {site.code}"


def test_a_member_of_two_sites_gets_both(client_for, programme, world, lead, site):
    SiteMembershipFactory(site=world["third"], user=lead, role="manager")
    codes = [r["site_code"] for r in get_csv(client_for(lead), programme, "sites")]
    assert codes == sorted([site.code, world["third"].code])


def test_a_member_who_left_gets_nothing(client_for, programme, world, lead, site):
    SiteMembership.objects.filter(user=lead).update(ended_at=NOW)
    client = client_for(lead)
    assert client.get(f"/programmes/{programme.pk}/exports/").status_code == 404
    assert client.get(url(programme, "plans", "csv")).status_code == 404


# --- Who is turned away --------------------------------------------------------------------

@pytest.mark.parametrize("person", ["outsider", "other_core"])
@pytest.mark.parametrize("path", ["", "plans.csv", "measurements.xlsx"])
def test_anyone_else_gets_404(request, client_for, programme, world, person, path):
    client = client_for(request.getfixturevalue(person))
    assert client.get(f"/programmes/{programme.pk}/exports/{path}").status_code == 404


def test_another_programmes_site_member_gets_404(client_for, world, lead, programme):
    other = EnrolmentFactory(status="intervention").programme
    client = client_for(lead)
    assert client.get(f"/programmes/{other.pk}/exports/").status_code == 404
    assert client.get(url(other, "visits", "csv")).status_code == 404


def test_a_core_team_gets_nothing_from_another_programme(as_core, world):
    other = EnrolmentFactory(status="intervention").programme
    assert as_core.get(url(other, "sites", "csv")).status_code == 404


@pytest.mark.parametrize("path", ["patients.csv", "plans.pdf", "plans.CSV", "plans.xls"])
def test_unknown_datasets_and_formats_are_not_found(as_core, programme, path):
    assert as_core.get(f"/programmes/{programme.pk}/exports/{path}").status_code == 404


def test_signing_in_comes_first(programme):
    response = Client().get(url(programme, "plans", "csv"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- The page ------------------------------------------------------------------------------

def test_the_page_lists_every_dataset_and_says_whose_data(as_core, client_for, programme,
                                                          world, lead, site):
    page = as_core.get(f"/programmes/{programme.pk}/exports/").content.decode()
    assert "everything in the programme" in page
    for dataset in exports.datasets():
        assert url(programme, dataset.slug, "csv") in page
        assert url(programme, dataset.slug, "xlsx") in page
        for column in dataset.columns:
            assert f"<code>{column.heading}</code>" in page
    own = client_for(lead).get(f"/programmes/{programme.pk}/exports/").content.decode()
    assert "your site's data" in own
    assert site.code in own and world["third"].code not in own


def test_the_programme_and_site_pages_link_to_the_exports(as_core, client_for, programme,
                                                          world, lead, site):
    link = f'href="/programmes/{programme.pk}/exports/"'
    assert link in as_core.get(f"/programmes/{programme.pk}/").content.decode()
    assert link in client_for(lead).get(f"/sites/{site.pk}/").content.decode()
    # The core team downloads from the programme page; the site page sends it there.
    assert link not in as_core.get(f"/sites/{site.pk}/").content.decode()


# --- Streaming and query counts ------------------------------------------------------------

def test_a_long_csv_arrives_in_pieces(as_core, programme, world):
    add_months(world["own_measure"], 3, exports.CSV_BATCH * 2)
    response = as_core.get(url(programme, "measurements", "csv"))
    pieces = list(response.streaming_content)
    assert len(pieces) >= 3
    assert sum(p.count(b"\r\n") for p in pieces) == 1 + 9 + exports.CSV_BATCH * 2


def test_the_csv_streams_in_constant_memory(as_core, programme, world):
    """Memory while the CSV is read does not grow with its rows: five times the measurements
    hardly move the peak, where reading them all into a list first would multiply it. Both
    sizes span several chunks, as the peak holds one chunk while the next is fetched."""
    def peak() -> int:
        response = as_core.get(url(programme, "measurements", "csv"))
        tracemalloc.start()
        for _ in response.streaming_content:
            pass
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    add_months(world["own_measure"], 3, 3 * exports.CHUNK_SIZE)
    small = peak()
    add_months(world["own_measure"], 3 + 3 * exports.CHUNK_SIZE, 12 * exports.CHUNK_SIZE)
    assert peak() < 1.5 * small


def test_a_workbook_too_large_to_make_while_you_wait_offers_the_csv(as_core, programme, world,
                                                                     monkeypatch):
    columns = len(exports.dataset("measurements").columns)
    monkeypatch.setattr(exports, "XLSX_MAX_CELLS", 9 * columns)
    assert as_core.get(url(programme, "measurements", "xlsx")).status_code == 200
    add_months(world["own_measure"], 3, 1)
    response = as_core.get(url(programme, "measurements", "xlsx"), follow=True)
    assert response.redirect_chain == [(f"/programmes/{programme.pk}/exports/", 302)]
    assert "Measurements has 10 rows, too many for an Excel file" in response.content.decode()
    assert as_core.get(url(programme, "measurements", "csv")).status_code == 200


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        assert response.status_code == 200, path
        if response.streaming:
            body(response)
    return len(captured)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("person", ["core", "lead"])
def test_queries_do_not_grow_with_the_rows(request, client_for, programme, world, person, fmt):
    client = client_for(request.getfixturevalue(person))
    paths = [url(programme, d.slug, fmt) for d in exports.datasets()]
    small = [count_queries(client, p) for p in paths]
    for i in range(3):
        extra_site = EnrolmentFactory(programme=programme, status="intervention").site
        plan_with_data(programme, extra_site, f"Extra {i}", months=5)
    add_months(world["own_measure"], 3, 300)
    plan_with_data(programme, world["own_plan"].site, "Another of ours", months=40)
    large = [count_queries(client, p) for p in paths]
    assert small == large
    # The session, the person, whose data it is (two for a site member), then the rows; a
    # workbook first counts them and, for a site member, names the sites.
    assert max(large) <= 7


@pytest.mark.parametrize("person", ["core", "lead"])
def test_the_page_has_a_flat_query_budget(request, client_for, programme, world, person):
    client = client_for(request.getfixturevalue(person))
    path = f"/programmes/{programme.pk}/exports/"
    small = count_queries(client, path)
    for i in range(5):
        extra_site = EnrolmentFactory(programme=programme, status="intervention").site
        plan_with_data(programme, extra_site, f"Extra {i}")
    assert count_queries(client, path) == small <= 7
