"""Importing sites from CSV: all or nothing, every problem named by row and column."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ilcop.imports import ImportFailed
from ilcop.models import ActivityLog
from programmes import services
from programmes.models import Enrolment, Organisation, Site

from .factories import EnrolmentFactory, OrganisationFactory

HEADER = ("organisation_code,organisation_name,region,network,latitude,longitude,site_code,"
          "site_name,mdt_day,mdt_time,specialty,annual_new_patients")
GOOD_ROWS = [
    "ZA1,Wyvern Valley Hospitals NHS Trust,London,North London Alliance,51.5,-0.1,"
    "ZA1-LUNG,Lung cancer MDT,Tuesday,13:30,,320",
    "ZA2,Kestrelford University Hospitals,North West,,,,ZA2-LUNG,Lung MDT,wed,08:00,"
    "Lung cancer,\"1,200\"",
    "ZA2,Kestrelford University Hospitals,north_west,,,,ZA2-THOR,Thoracic MDT,Friday,12:00,,",
]


def upload(text: str, *, encoding="utf-8", name="sites.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def run_import(programme, user, text, **kwargs):
    return services.sites_import(programme=programme, user=user, uploaded=upload(text, **kwargs))


def test_a_good_file_imports_everything(programme, core):
    sites = run_import(programme, core, "\n".join([HEADER, *GOOD_ROWS]) + "\n")

    assert [s.code for s in sites] == ["ZA1-LUNG", "ZA2-LUNG", "ZA2-THOR"]
    assert Organisation.objects.count() == 2
    za2 = Site.objects.get(code="ZA2-LUNG")
    assert za2.mdt_day == 2 and za2.annual_new_patients == 1200
    assert za2.organisation.region == "north_west"
    assert Enrolment.objects.filter(programme=programme, status="invited").count() == 3
    entry = ActivityLog.objects.get(verb="sites.imported")
    assert entry.summary == "Imported 3 sites (2 new organisations) from sites.csv"


def test_one_bad_row_imports_nothing_and_names_the_row_and_column(programme, core):
    bad = GOOD_ROWS[1].replace(",wed,", ",Funday,")
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, "\n".join([HEADER, GOOD_ROWS[0], bad, GOOD_ROWS[2]]))

    assert [str(e) for e in failure.value.errors] == [
        "Row 3, column “mdt_day”: “Funday” is not a day of the week."
    ]
    assert Site.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert not ActivityLog.objects.exists()


def test_every_problem_is_reported_at_once(programme, core):
    rows = [
        HEADER,
        "ZB1,,Atlantis,,91,,ZB1-LUNG,Lung MDT,Monday,25:00,Dermatology,lots",
        "ZB2,Trust B,London,,,,ZB2-LUNG,Lung MDT,Monday,9.30,,",
        "ZB3,Trust C,London,,,,ZB2-LUNG,Lung MDT,Monday,10:00,,",
    ]
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, "\n".join(rows))
    found = {(e.row, e.column) for e in failure.value.errors}
    assert found == {
        (2, "organisation_name"), (2, "region"), (2, "latitude"),
        (2, "mdt_time"), (2, "specialty"), (2, "annual_new_patients"),
        (4, "site_code"),  # the same site code as row 3
    }


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(programme, core):
    bad = GOOD_ROWS[0].replace("London", "Narnia")
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, "\n".join([HEADER, "", ",,,,,,,,,,,", bad]))
    assert [(e.row, e.column) for e in failure.value.errors] == [(4, "region")]


def test_a_byte_order_mark_trailing_spaces_and_loose_headers_are_handled(programme, core):
    text = "\ufeff" + HEADER.replace("site_code", " Site Code ") + "\r\n"
    text += GOOD_ROWS[0] + "  \r\n\r\n"
    sites = run_import(programme, core, text)
    assert sites[0].code == "ZA1-LUNG"
    assert sites[0].annual_new_patients == 320


def test_a_windows_encoded_file_is_read(programme, core):
    text = HEADER + "\r\n" + GOOD_ROWS[0].replace("Wyvern Valley", "Wyvern Vâlley")
    sites = run_import(programme, core, text, encoding="cp1252")
    assert sites[0].organisation.name == "Wyvern Vâlley Hospitals NHS Trust"


def test_a_missing_column_is_reported_against_the_header_row(programme, core):
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, HEADER.replace(",mdt_time", "") + "\n" + GOOD_ROWS[0])
    assert [str(e) for e in failure.value.errors] == [
        "Row 1, column “mdt_time”: this column is missing from the header row."
    ]


@pytest.mark.parametrize("text", ["", "   \n", HEADER + "\n\n"])
def test_empty_files_say_so(programme, core, text):
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, text)
    assert failure.value.errors[0].column == "file"


def test_a_known_organisation_is_reused_but_a_different_name_is_an_error(programme, core):
    OrganisationFactory(code="ZA1", name="Wyvern Valley Hospitals NHS Trust")
    run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0])
    assert Organisation.objects.count() == 1

    renamed = GOOD_ROWS[1].replace("ZA2,Kestrelford", "ZA1,Kestrelford")
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, HEADER + "\n" + renamed.replace("ZA2-LUNG", "ZA9-LUNG"))
    assert failure.value.errors[0].column == "organisation_name"
    assert "already recorded as “Wyvern Valley Hospitals NHS Trust”" in str(
        failure.value.errors[0]
    )


def test_a_site_already_in_the_programme_is_an_error(programme, core):
    EnrolmentFactory(programme=programme, site__code="ZA1-LUNG", site__organisation__code="ZA1",
                     site__organisation__name="Wyvern Valley Hospitals NHS Trust")
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0])
    assert str(failure.value.errors[0]) == (
        "Row 2, column “site_code”: ZA1-LUNG is already in this programme."
    )


def test_binary_junk_is_refused_with_a_message(programme, core):
    junk = SimpleUploadedFile("sites.xlsx", bytes(range(256)) * 4)
    with pytest.raises(ImportFailed) as failure:
        services.sites_import(programme=programme, user=core, uploaded=junk)
    assert failure.value.errors


def test_import_page_shows_errors_and_keeps_nothing(as_core, programme):
    bad = GOOD_ROWS[1].replace(",wed,", ",Funday,")
    response = as_core.post(
        f"/programmes/{programme.pk}/sites/import/",
        {"file": upload("\n".join([HEADER, GOOD_ROWS[0], bad]))},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Nothing was imported" in content
    assert "Row 3, column “mdt_day”: “Funday” is not a day of the week." in content
    assert Site.objects.count() == 0


def test_import_page_imports_a_good_file(as_core, programme):
    response = as_core.post(
        f"/programmes/{programme.pk}/sites/import/",
        {"file": upload("\n".join([HEADER, *GOOD_ROWS]))}, follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/programmes/{programme.pk}/sites/"
    assert "Imported 3 sites" in response.content.decode()


def test_the_template_download_imports_cleanly(as_core, programme, core):
    template = as_core.get(f"/programmes/{programme.pk}/sites/import/template.csv")
    assert template["Content-Type"].startswith("text/csv")
    sites = run_import(programme, core, template.content.decode())
    assert sites[0].code == "RZZ-LUNG"


def test_a_trailing_comma_on_data_rows_is_harmless(programme, core):
    rows = [HEADER, GOOD_ROWS[0] + ",", GOOD_ROWS[1] + ","]
    assert len(run_import(programme, core, "\n".join(rows))) == 2


def test_a_row_with_more_values_than_columns_is_named(programme, core):
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, "\n".join([HEADER, GOOD_ROWS[0], GOOD_ROWS[1] + ",extra"]))
    assert [e.row for e in failure.value.errors] == [3]
    assert "has 13 values but row 1 has only 12 column names" in str(failure.value.errors[0])


@pytest.mark.parametrize(
    ("column", "value"),
    [("latitude", "NaN"), ("latitude", "Infinity"), ("annual_new_patients", "3000000000")],
)
def test_numbers_that_are_not_sensible_are_refused(programme, core, column, value):
    row = dict(zip(HEADER.split(","), GOOD_ROWS[0].split(","), strict=True))
    row[column] = value
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, HEADER + "\n" + ",".join(row.values()))
    assert {e.column for e in failure.value.errors} >= {column}
    assert not Site.objects.exists()


def test_a_file_with_nul_characters_is_refused(programme, core):
    with pytest.raises(ImportFailed):
        run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0].replace("Wyvern", "Wy\x00vern"))


def test_a_site_recorded_for_another_programme_cannot_be_pulled_in(programme, core):
    EnrolmentFactory(site__code="ZA1-LUNG", site__organisation__code="ZA1",
                     site__organisation__name="Wyvern Valley Hospitals NHS Trust")
    with pytest.raises(ImportFailed) as failure:
        run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0])
    assert "already recorded for another programme" in str(failure.value.errors[0])
    assert not Enrolment.objects.filter(programme=programme).exists()


@pytest.mark.parametrize(("typed", "day"), [("Tues", 1), ("thurs", 3), ("Sat.", 5)])
def test_common_day_abbreviations(programme, core, typed, day):
    [site] = run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0].replace("Tuesday", typed))
    assert site.mdt_day == day


def test_a_word_that_merely_starts_like_a_day_is_refused(programme, core):
    with pytest.raises(ImportFailed):
        run_import(programme, core, HEADER + "\n" + GOOD_ROWS[0].replace("Tuesday", "Sunshine"))
