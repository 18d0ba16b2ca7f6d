"""Fuzzing every importer through its page: a bad file gets a message, never a server error,
and a refused file writes nothing (ilcop.imports: all or nothing).

The files are spreadsheets gone wrong the ways real ones do: saved as Latin-1 or UTF-16,
semicolons for commas, headers missing, doubled or renamed, quoted newlines, formulas, huge
numbers, blank lines; and files that are not spreadsheets at all (empty, a PNG, a damaged
workbook).
"""

import csv
import io
from dataclasses import dataclass

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ilcop.imports import FILE, ImportFailed, normalise_column
from ilcop.models import ActivityLog
from programmes.models import (
    Enrolment,
    Indicator,
    IndicatorValue,
    Organisation,
    Site,
    SurveyAnswer,
    SurveyResponse,
)
from programmes.services import audit as audit_services
from programmes.services import sites as site_services
from programmes.services import survey as survey_services
from qips.models import Measure, Measurement, QualityImprovementPlan
from qips.services import measurements as measurement_services

from .fuzz import FUZZ, NASTY, assert_not_a_server_error, nasty_text
from .test_permissions import world  # noqa: F401 - the fixture

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
NOT_SPREADSHEETS = [b"", b"\n\n", b"\xef\xbb\xbf", PNG, b"PK\x03\x04" + b"\x00" * 40,
                    b"%PDF-1.7\n%\xe2\xe3", b"\xff\xfe\x00\x00", b"\x00" * 64,
                    "organisation_code\n".encode("utf-16")]


@dataclass(frozen=True)
class Importer:
    name: str
    url: str
    person: str
    columns: list[str]  # every column the importer knows, required ones first
    plausible: dict  # column -> strategy of good-looking cells
    models: tuple  # rows of these must not change when a file is refused
    file_field: str = "file"
    fixed: tuple = ()


@pytest.fixture
def imports_world(world):  # noqa: F811 - the imported fixture
    ids = world["ids"]
    site = Site.objects.get(pk=ids["site"])
    plan = QualityImprovementPlan.objects.get(pk=ids["plan"])
    percentage = Measure.objects.create(plan=plan, kind="process", name="P", numerator="n",
                                        denominator="d", data_source="log",
                                        direction="increase")
    survey = plan.programme.survey
    return {"ids": {**ids, "percentage": percentage.pk}, "people": world["people"],
            "site": site, "survey": survey, "measure": Measure.objects.get(pk=ids["measure"]),
            "percentage": percentage,
            "collection": survey_services.collection_for(survey=survey, site=site)}


months = st.dates().map(lambda d: d.strftime(st_format(d)))


def st_format(day) -> str:
    return ["%Y-%m", "%b %Y", "%d/%m/%Y", "%Y-%m-%d"][day.toordinal() % 4]


counts = st.integers(min_value=-5, max_value=2_000_000).map(str)
SITE_VALUES = {
    "organisation_code": st.sampled_from(["ZZ1", "RXX", " zz2 ", ""]),
    "organisation_name": st.sampled_from(["Trust A", "Trust B"]),
    "region": st.sampled_from(["London", "north_west", "Mars"]),
    "site_code": st.sampled_from(["ZZ1-LUNG", "ZZ1-LUNG", "ZZ2-UGI"]),
    "site_name": st.sampled_from(["Lung MDT", "x" * 300]),
    "mdt_day": st.sampled_from(["Tuesday", "wed", "Funday", "7"]),
    "mdt_time": st.sampled_from(["13:30", "8:00", "25:00", "1pm"]),
    "latitude": st.sampled_from(["51.5", "91", "", "abc"]),
    "longitude": st.sampled_from(["-0.1", "-181", ""]),
    "annual_new_patients": st.sampled_from(["320", "1,200", "-3", "1e9"]),
}
AUDIT_VALUES = {
    "period": st.sampled_from(["2025", "2025/26", "2025 Q1", "2099", "last year"]),
    "indicator_code": st.sampled_from(["HISTO", "histo", "NOPE"]),
    "numerator": counts, "denominator": counts,
    "site_code": st.just("{site_code}"), "organisation_code": st.just("{org_code}"),
    "national": st.sampled_from(["55.5", "101", "x"]),
}
SURVEY_VALUES = {"date_completed": st.sampled_from(["2026-01-31", "31/01/2026", "2999-01-01",
                                                    "1999-01-01", "yesterday"])}


def _survey_values(survey) -> dict:
    values = dict(SURVEY_VALUES)
    for question in survey.questions.all():
        options = ([str(v) for v, _ in question.scale_definition.options]
                   if question.is_rating else ["More parking", "Kind staff"])
        values[normalise_column(question.code)] = st.sampled_from([*options, "6", "Yes!"])
    return values


def importers(w) -> list[Importer]:
    survey_values = _survey_values(w["survey"])
    return [
        Importer("sites", "/programmes/{programme}/sites/import/", "core",
                 site_services.IMPORT_COLUMNS, SITE_VALUES,
                 (Organisation, Site, Enrolment, ActivityLog)),
        Importer("audit", "/programmes/{programme}/indicators/import/", "core",
                 [*audit_services.AUDIT_REQUIRED, "site_code", "organisation_code", "national"],
                 AUDIT_VALUES, (Indicator, IndicatorValue, ActivityLog)),
        Importer("survey", "/sites/{site}/survey/import/", "lead",
                 [*survey_services.import_columns(w["survey"]), "date_completed"],
                 survey_values, (SurveyResponse, SurveyAnswer, ActivityLog)),
        Importer("measure values", "/qips/{plan}/measures/{measure}/data/", "lead",
                 ["period", "value"], {"period": months, "value": counts},
                 (Measurement, ActivityLog), "import-file", (("how", "import"),)),
        Importer("measure percentages", "/qips/{plan}/measures/{percentage}/data/", "lead",
                 ["period", "numerator", "denominator"],
                 {"period": months, "numerator": counts, "denominator": counts},
                 (Measurement, ActivityLog), "import-file", (("how", "import"),)),
    ]


IMPORTER_NAMES = ["sites", "audit", "survey", "measure values", "measure percentages"]


@st.composite
def tables(draw, importer: Importer, *, hostile: bool = True):
    """(header, rows): a header close to the expected one, rows of plausible or nasty cells."""
    columns = importer.columns
    if hostile:
        header = draw(st.one_of(
            st.permutations(columns),
            st.lists(st.sampled_from([*columns, "Site Code", "extra", "", "=A1"]),
                     max_size=len(columns) + 2),
            st.permutations(columns).map(lambda c: [*c, c[0]]),  # a duplicated column
        ))
    else:
        header = list(columns)
    cell = (lambda c: st.one_of(importer.plausible.get(c, st.just("")),
                                importer.plausible.get(c, st.just("")), nasty_text)) \
        if hostile else (lambda c: importer.plausible.get(c, st.just("")))
    row = st.tuples(*[cell(c) for c in header]).map(list) if header else st.just([])
    if hostile:
        row = st.one_of(row, row.map(lambda r: [*r, "surplus"]), row.map(lambda r: r[:-1]))
    rows = draw(st.lists(row, max_size=5))
    return list(header), rows


@st.composite
def csv_bytes(draw, importer: Importer):
    header, rows = draw(tables(importer))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(
        st.sampled_from(["\r\n", "\n"])), quoting=draw(st.sampled_from(
            [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    if draw(st.booleans()) or not header:
        writer.writerow(header)
    for cells in rows:
        if draw(st.integers(0, 5)) == 0:
            out.write("\n")  # a blank line
        writer.writerow(cells)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1",
                                     "cp1252"]))
    raw = text.encode(encoding, errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(0, max(len(raw), 1))))
    return raw if cut is None else raw[:cut]


def workbook_bytes(header, rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for cells in rows:
        # openpyxl refuses control characters in a cell; Excel cannot hold them either.
        sheet.append(["".join(ch for ch in c if ch >= " " or ch in "\t\n") for c in cells])
    book.create_sheet("Notes").append(["Anything else"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def uploads(draw, importer: Importer):
    kind = draw(st.sampled_from(["csv", "csv", "csv", "xlsx", "junk", "bytes"]))
    if kind == "csv":
        return "data.csv", draw(csv_bytes(importer))
    if kind == "xlsx":
        header, rows = draw(tables(importer))
        raw = workbook_bytes(header, rows)
        cut = draw(st.one_of(st.none(), st.none(), st.integers(4, len(raw))))
        return "data.xlsx", raw if cut is None else raw[:cut]
    if kind == "junk":
        return draw(st.sampled_from(["data.csv", "data.png", "data.xlsx"])), draw(
            st.sampled_from(NOT_SPREADSHEETS))
    return "data.csv", draw(st.binary(max_size=300))


def counts_of(models) -> dict:
    return {m.__name__: m.objects.count() for m in models}


def _fill(raw: bytes, w) -> bytes:
    site = w["site"]
    return raw.replace(b"{site_code}", site.code.encode()).replace(
        b"{org_code}", site.organisation.code.encode())


def _client(w, person) -> Client:
    client = Client()
    client.force_login(w["people"][person])
    return client


@pytest.mark.parametrize("name", IMPORTER_NAMES)
@settings(FUZZ, max_examples=40)
@given(data=st.data())
@example(data=None)  # the empty file, every time
def test_uploading_anything_is_never_a_server_error_and_a_refusal_writes_nothing(
        imports_world, name, data):
    w = imports_world
    importer = next(i for i in importers(w) if i.name == name)
    filename, raw = data.draw(uploads(importer), label="upload") if data else ("e.csv", b"")
    raw = _fill(raw, w)
    before = counts_of(importer.models)
    cache.clear()
    response = _client(w, importer.person).post(importer.url.format(**w["ids"]), {
        importer.file_field: SimpleUploadedFile(filename, raw), **dict(importer.fixed)})
    assert_not_a_server_error(response)
    if response.status_code == 200:
        assert counts_of(importer.models) == before
        page = response.content.decode()
        assert "nhsuk-error-summary" in page
    else:
        assert response.status_code == 302


@pytest.mark.parametrize("name", ["measure values", "measure percentages"])
@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_pasting_anything_is_never_a_server_error_and_a_refusal_writes_nothing(
        imports_world, name, data):
    w = imports_world
    importer = next(i for i in importers(w) if i.name == name)
    header, rows = data.draw(tables(importer), label="table")
    separator = data.draw(st.sampled_from(["\t", ",", ";", " "]), label="separator")
    lines = ([separator.join(header)] if data.draw(st.booleans(), label="header") else []) + [
        separator.join(r) for r in rows]
    text = data.draw(st.one_of(st.just("\n".join(lines)), st.sampled_from(NASTY)), label="text")
    before = counts_of(importer.models)
    response = _client(w, "lead").post(importer.url.format(**w["ids"]),
                                       {"how": "paste", "paste-rows": text})
    assert_not_a_server_error(response)
    if response.status_code == 200:
        assert counts_of(importer.models) == before
        assert "nhsuk-error-summary" in response.content.decode()


# --- errors in a row name the row and the column --------------------------------------------


def _run(name: str, w, uploaded):
    user = w["people"]["lead"]
    if name == "sites":
        return site_services.sites_import(programme=w["survey"].programme,
                                          user=w["people"]["core"], uploaded=uploaded)
    if name == "audit":
        return audit_services.audit_import(programme=w["survey"].programme,
                                           user=w["people"]["core"], uploaded=uploaded)
    if name == "survey":
        return survey_services.survey_import(collection=w["collection"], user=user,
                                             uploaded=uploaded)
    measure = w["measure"] if name == "measure values" else w["percentage"]
    return measurement_services.measurements_import(measure=measure, user=user,
                                                    uploaded=uploaded)


@pytest.mark.parametrize("name", IMPORTER_NAMES)
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_with_the_right_header_every_problem_names_its_row_and_column(imports_world, name,
                                                                      data):
    w = imports_world
    importer = next(i for i in importers(w) if i.name == name)
    header, rows = data.draw(tables(importer, hostile=False), label="table")
    rows = [[data.draw(st.one_of(st.just(c), nasty_text.filter(lambda t: "\x00" not in t)),
                       label="cell") for c in r] for r in rows]
    if not any(any(c.strip() for c in r) for r in rows):
        return  # a file with no data rows is refused as a whole, rightly
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    uploaded = SimpleUploadedFile("data.csv", _fill(out.getvalue().encode(), w))
    try:
        _run(name, w, uploaded)
    except ImportFailed as failure:
        for error in failure.errors:
            assert error.row is not None and error.row >= 1, str(error)
            assert error.column == FILE or error.column in {*header, "date_completed"} or (
                error.row == 1), str(error)


def test_a_zero_byte_upload_is_refused_with_a_message(imports_world):
    w = imports_world
    response = _client(w, "core").post(f"/programmes/{w['ids']['programme']}/sites/import/",
                                       {"file": SimpleUploadedFile("e.csv", b"")})
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert not Site.objects.filter(code__startswith="ZZ").exists()


# --- regressions found by the fuzzing above -------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"period,value\n2026-01\r5,3\n",  # a lone carriage return inside a row
    b"period,value\n2026-01,\"" + b"9" * 200_000 + b"\"\n",  # a cell over csv's field limit
], ids=["carriage return", "huge cell"])
def test_a_file_the_csv_module_cannot_split_is_refused_not_a_server_error(imports_world, raw):
    w = imports_world
    response = _client(w, "lead").post(
        f"/qips/{w['ids']['plan']}/measures/{w['ids']['measure']}/data/",
        {"how": "import", "import-file": SimpleUploadedFile("data.csv", raw)})
    assert response.status_code == 200
    assert "Nothing was imported" in response.content.decode()
    assert not Measurement.objects.exists()
