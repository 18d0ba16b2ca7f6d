"""Audit data: import (all or nothing, real-world files), eligibility and a site's profile."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ilcop.activity import timeline_for
from ilcop.imports import ImportFailed
from programmes import services
from programmes.models import Enrolment, Indicator, IndicatorValue

from .factories import EnrolmentFactory

HEADER = "site_code,period,indicator_code,numerator,denominator,national,target"


@pytest.fixture
def indicators(programme):
    made = [
        Indicator.objects.create(programme=programme, code=code, name=name, source="NLCA",
                                 is_headline=headline, order=i)
        for i, (code, name, headline) in enumerate([
            ("HISTO", "Histological confirmation", True),
            ("ACTIVE", "Active treatment", True),
            ("COMPLETE", "Data completeness", False),
        ])
    ]
    programme.baseline_period = "2025"
    programme.min_denominator = 30
    programme.save()
    return made


@pytest.fixture
def sites(programme):
    return [EnrolmentFactory(programme=programme, status="approved",
                             site__code=f"ZS{i}-LUNG").site for i in range(3)]


def csv_upload(text: str, encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile("audit.csv", text.encode(encoding), content_type="text/csv")


def run(programme, core, upload):
    return services.audit_import(programme=programme, user=core, uploaded=upload)


def good_rows(sites, period="2025", numerator=80):
    return [f"{s.code},{period},{code},{numerator},100,78%,80%"
            for s in sites for code in ("HISTO", "ACTIVE")]


def test_a_good_file_imports_every_value(programme, core, indicators, sites):
    [result] = run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites)])))
    assert (result.period, result.values, result.replaced) == ("2025", 6, 0)
    value = IndicatorValue.objects.get(site=sites[0], indicator__code="HISTO")
    assert (value.numerator, value.denominator, value.national, value.target) == (
        80, 100, pytest.approx(0.78), pytest.approx(0.80))
    assert str(value.period_end) == "2025-12-31"
    assert timeline_for(programme).first().summary == (
        "Imported 2025 audit data for ACTIVE, HISTO: 6 values")


def test_every_error_is_listed_by_row_and_column_and_nothing_is_imported(
    programme, core, indicators, sites
):
    a, b = sites[0].code, sites[1].code
    rows = [
        HEADER,
        f"{a},2025,HISTO,80,100,,",                 # fine
        "ZZZ-NOPE,2025,HISTO,80,100,,",            # unknown site
        f"{a},2025,SMOKING,80,100,,",               # unknown indicator
        f"{b},2025,HISTO,120,100,,",                # numerator above denominator
        f"{b},2025,ACTIVE,-3,100,,",                # negative
        f"{a},2025,HISTO,81,100,,",                 # duplicate of row 2
        f"{b},last year,COMPLETE,5,10,,",           # unknown period
        f"{b},2025,COMPLETE,5,10,140%,",            # national above 100%
    ]
    with pytest.raises(ImportFailed) as failure:
        run(programme, core, csv_upload("\n".join(rows)))
    assert [(e.row, e.column) for e in failure.value.errors] == [
        (3, "site_code"), (4, "indicator_code"), (5, "numerator"), (6, "numerator"),
        (7, "period"), (8, "period"), (9, "national"),
    ]
    assert "are also on row 2" in str(failure.value.errors[4])
    assert "120 is more than the denominator (100)" in str(failure.value.errors[2])
    assert not IndicatorValue.objects.exists()


def test_a_messy_real_world_csv_is_read(programme, core, indicators, sites):
    """A byte-order mark, thousands separators, percent signs, stray spaces, blank lines,
    headers in another case and an organisation code instead of a site code."""
    org = sites[0].organisation.code
    text = ("\ufeffOrganisation Code , Period ,Indicator Code,Numerator,Denominator,"
            "National Comparator,Target\r\n"
            f" {org} , 2025/26 , histo ,\"1,080\",\"1,200\", 78.5 % ,80%\r\n"
            "\r\n,,,,,,\r\n"
            f"{org},2025/26,ACTIVE,900,\"1,200\",0.64,\r\n")
    [result] = run(programme, core, csv_upload(text))
    assert result.values == 2
    value = IndicatorValue.objects.get(indicator__code="HISTO")
    assert (value.numerator, value.denominator, value.period) == (1080, 1200, "2025/26")
    assert value.national == pytest.approx(0.785)
    assert IndicatorValue.objects.get(indicator__code="ACTIVE").national == pytest.approx(0.64)


def workbook(sheets: dict[str, list[list]]) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("audit.xlsx", buffer.getvalue())


def test_a_workbook_with_a_notes_sheet_and_two_data_sheets(programme, core, indicators, sites):
    header = HEADER.split(",")
    upload = workbook({
        "Notes": [["About this extract"], ["Figures are provisional"]],
        "Histology": [header, [sites[0].code, "2025", "HISTO", 80, 100, "78%", "80%"]],
        "Treatment": [header, [sites[0].code, "2025", "ACTIVE", 1200.0, 1500, 0.64, None]],
    })
    [result] = run(programme, core, upload)
    assert result.values == 2
    assert IndicatorValue.objects.get(indicator__code="ACTIVE").numerator == 1200


def test_workbook_errors_name_their_sheet(programme, core, indicators, sites):
    header = HEADER.split(",")
    upload = workbook({"Histology": [header, [sites[0].code, "2025", "HISTO", 101, 100]]})
    with pytest.raises(ImportFailed) as failure:
        run(programme, core, upload)
    assert str(failure.value.errors[0]).startswith("Sheet “Histology”, row 2, column “numerator”")


def test_reimporting_a_period_replaces_it_and_says_so(programme, core, indicators, sites):
    run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites)])))
    run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites[:1], numerator=90)])))
    assert IndicatorValue.objects.count() == 2
    assert set(IndicatorValue.objects.values_list("numerator", flat=True)) == {90}
    assert timeline_for(programme).first().summary == (
        "Replaced 2025 audit data for ACTIVE, HISTO: 2 values (previously 6)"
    )


def test_a_file_with_one_indicator_leaves_the_periods_others_alone(programme, core,
                                                                  indicators, sites):
    run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites)])))
    only_histo = [f"{s.code},2025,HISTO,70,100,," for s in sites]
    run(programme, core, csv_upload("\n".join([HEADER, *only_histo])))
    assert IndicatorValue.objects.filter(indicator__code="ACTIVE").count() == 3
    assert set(IndicatorValue.objects.filter(indicator__code="HISTO").values_list(
        "numerator", flat=True)) == {70}


def test_a_damaged_workbook_gets_a_message(programme, core, indicators):
    """A real .xlsx whose sheet XML is broken: a valid zip that no parser can read."""
    original = zipfile.ZipFile(workbook({"Data": [HEADER.split(",")]}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as damaged:
        for entry in original.infolist():
            content = original.read(entry)
            if entry.filename.endswith("sheet1.xml"):
                content = content[: len(content) // 2]
            damaged.writestr(entry, content)
    with pytest.raises(ImportFailed) as failure:
        run(programme, core, SimpleUploadedFile("audit.xlsx", buffer.getvalue()))
    assert str(failure.value.errors[0]) == (
        "The file could not be read as an Excel workbook. Open it in Excel, save it again and "
        "retry.")


def test_other_periods_are_kept(programme, core, indicators, sites):
    run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites, period="2024")])))
    run(programme, core, csv_upload("\n".join([HEADER, *good_rows(sites)])))
    assert IndicatorValue.objects.filter(period="2024").count() == 6


def test_eligibility_needs_every_headline_indicator_at_the_minimum(
    programme, core, indicators, sites
):
    rows = [HEADER,
            f"{sites[0].code},2025,HISTO,30,40,,", f"{sites[0].code},2025,ACTIVE,20,30,,",
            f"{sites[1].code},2025,HISTO,10,12,,", f"{sites[1].code},2025,ACTIVE,20,30,,",
            f"{sites[2].code},2025,HISTO,30,40,,"]
    run(programme, core, csv_upload("\n".join(rows)))
    outcome = services.eligibility_run(programme=programme, user=core)

    statuses = dict(Enrolment.objects.values_list("site__code", "status"))
    assert statuses == {sites[0].code: "eligible", sites[1].code: "ineligible",
                        sites[2].code: "ineligible"}
    reasons = {e.site.code: r for e, r in outcome["ineligible"]}
    assert reasons[sites[1].code] == [
        "Histological confirmation: 12 patients in 2025, fewer than the minimum of 30"]
    assert reasons[sites[2].code] == ["No 2025 data for Active treatment"]
    assert Enrolment.objects.get(site=sites[2]).ineligible_reason == (
        "No 2025 data for Active treatment")


def test_the_import_page_lists_errors(as_core, programme, indicators, sites):
    response = as_core.post(f"/programmes/{programme.pk}/indicators/import/",
                            {"file": csv_upload(f"{HEADER}\n{sites[0].code},2025,HISTO,5,4,,")})
    content = response.content.decode()
    assert "Nothing was imported" in content
    assert "Row 2, column “numerator”: 5 is more than the denominator (4)." in content


def test_the_eligibility_check_from_the_page(as_core, programme, indicators, sites):
    response = as_core.post(f"/programmes/{programme.pk}/eligibility/", follow=True)
    content = response.content.decode()
    assert "Checked: 0 eligible, 3 not" in content
    assert "No 2025 data for Histological confirmation" in content
    # The page is reached by a redirect, so reloading it does not run the check again.
    assert response.redirect_chain == [(f"/programmes/{programme.pk}/eligibility/", 302)]


@pytest.fixture
def with_data(programme, core, indicators, sites):
    rows = [HEADER] + [f"{s.code},2025,{code},{20 + 7 * i},{40 + 30 * i},78%,80%"
                       for i, s in enumerate(sites) for code in ("HISTO", "ACTIVE")]
    run(programme, core, csv_upload("\n".join(rows)))
    return sites


def test_a_site_sees_its_own_figures_and_no_other_site_by_name(client_for, with_data,
                                                               programme):
    site = with_data[0]
    from .factories import SiteMembershipFactory

    member = SiteMembershipFactory(site=site).user
    content = client_for(member).get(f"/sites/{site.pk}/data/").content.decode()
    assert "50.0%" in content and "(20 of 40 patients)" in content
    assert "Small numbers" not in content  # 40 and 70 patients: at or above the minimum
    assert "National figure" in content and "78.0%" in content
    assert "2025 (1 Jan 2025 to 31 Dec 2025)" in content
    assert "Source" in content and "NLCA" in content
    assert "Your team" in content
    for other in with_data[1:]:
        assert other.organisation.name not in content


def test_small_denominators_are_flagged(client_for, with_data, programme):
    programme.min_denominator = 50
    programme.save()
    from .factories import SiteMembershipFactory

    member = SiteMembershipFactory(site=with_data[0]).user
    content = client_for(member).get(f"/sites/{with_data[0].pk}/data/").content.decode()
    assert "Small numbers" in content
    assert "based on 40 patients, fewer than 50" in content


def test_the_core_team_sees_every_site_named_on_the_funnel_plots(as_core, with_data, programme):
    content = as_core.get(f"/programmes/{programme.pk}/indicators/").content.decode()
    assert content.count('<figure class="app-chart">') == 2  # one per indicator with data
    for site in with_data:
        assert site.organisation.name in content
