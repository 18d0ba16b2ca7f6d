"""Exports of a programme's data as CSV or Excel, for funders and researchers.

Each app describes its own datasets (programmes.exports, visits.exports, qips.exports) and
registers them from its AppConfig.ready, so this module imports no app. docs/exports.md
documents every dataset and column; a test keeps it in step with the registry.

A dataset's rows come from one queryset read with values_list().iterator(), so an export
costs the same few queries however many rows it has, and rows are never all in memory: the
CSV is streamed as it is read, and the workbook is written in openpyxl's write-only mode
into a temporary file, which is then sent from disk. A workbook too large to make while
the person waits is refused in favour of the CSV (xlsx_too_large).

How values are written (the same in both formats, and described in docs/exports.md):
- dates as YYYY-MM-DD and times of day as HH:MM (ISO 8601);
- moments (approved_at and the like) in UTC as YYYY-MM-DDTHH:MM:SSZ, so a file made in
  summer and one made in winter agree;
- yes/no as TRUE/FALSE, which Excel and LibreOffice read as booleans from a CSV too;
- empty for a value not recorded;
- choices as their stored code.
"""

import csv
import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Choices, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

CHUNK_SIZE = 2000
# Rows the CSV writer gathers before handing them to the server: one write per row would
# mean a quarter of a million tiny writes for the largest export.
CSV_BATCH = 500

# OWASP "CSV Injection": a spreadsheet treats a cell that begins with one of these as a
# formula, so a plan titled "=HYPERLINK(...)" would run when opened. A leading apostrophe
# makes the cell text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Excel's limit on the characters in a cell.
XLSX_MAX_CELL = 32_767
# openpyxl writes about 40,000 cells a second (measured: 252,000 measurements of seven
# columns took 40 seconds), and gunicorn's sync workers are killed after 30 seconds. Past
# this many cells the CSV, which streams ten times faster, is offered instead.
XLSX_MAX_CELLS = 500_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The same text a CSV carries, kept as a real date and time so it sorts and filters.
XLSX_DATETIME_FORMAT = 'yyyy-mm-dd"T"hh:mm:ss"Z"'
XLSX_TIME_FORMAT = "hh:mm"
CACHE_CONTROL = "private, no-store"


def choices_text(choices: type[Choices]) -> str:
    """A column description's list of codes, so the documentation names every value."""
    return "; ".join(f"{value} ({label})" for value, label in choices.choices)


@dataclass(frozen=True)
class Column:
    heading: str
    description: str
    # A lookup read with values_list(): a field ("status"), a related field ("site__code")
    # or an annotation the dataset's rows() adds. Several columns may read one field.
    field: str
    # Turns a stored value into the exported one; not called for an empty (NULL) value.
    convert: Callable[[Any], Any] | None = None

    def value(self, raw: Any) -> Any:
        if raw is None or self.convert is None:
            return raw
        return self.convert(raw)


@dataclass(frozen=True)
class Dataset:
    slug: str
    title: str
    description: str
    columns: tuple[Column, ...]
    # (programme, sites) -> an ordered queryset. sites is None for the whole programme, or
    # a queryset of the sites whose rows alone may be exported.
    rows: Callable[[Any, QuerySet | None], QuerySet]

    def records(self, programme: Any, sites: QuerySet | None) -> Iterator[list]:
        fields = list(dict.fromkeys(column.field for column in self.columns))
        position = [fields.index(column.field) for column in self.columns]
        queryset = self.rows(programme, sites).values_list(*fields)
        for raw in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield [column.value(raw[i]) for column, i in zip(self.columns, position,
                                                             strict=True)]


_registry: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    if dataset.slug in _registry:
        raise ValueError(f"An export named {dataset.slug!r} is already registered")
    _registry[dataset.slug] = dataset
    return dataset


def datasets() -> list[Dataset]:
    """Every dataset, in the order the apps registered them."""
    return list(_registry.values())


def dataset(slug: str) -> Dataset | None:
    return _registry.get(slug)


# --- Values ------------------------------------------------------------------------------

def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _utc(moment: datetime.datetime) -> datetime.datetime:
    # Django stores aware datetimes in UTC (USE_TZ); a naive one can only be UTC too.
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, int | float | Decimal):
        return str(value)
    return neutralise(str(value))


def xlsx_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(sheet, _utc(value))
        cell.number_format = XLSX_DATETIME_FORMAT
        return cell
    if isinstance(value, datetime.time):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = XLSX_TIME_FORMAT
        return cell
    if isinstance(value, str):
        # openpyxl refuses the control characters XML cannot hold; a CSV keeps them.
        text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
        if len(text) > XLSX_MAX_CELL:
            text = text[:XLSX_MAX_CELL - 3] + "[…]"
        return text
    # Dates get openpyxl's yyyy-mm-dd format; numbers, booleans and None stay as they are.
    return value


# --- Responses ---------------------------------------------------------------------------

class _Echo:
    """A file-like object whose write() hands back the line csv.writer formatted."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(dataset: Dataset, programme: Any, sites: QuerySet | None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A UTF-8 byte order mark, without which Excel reads the file as Windows-1252 and
    # mangles accented names.
    yield "\ufeff" + writer.writerow([column.heading for column in dataset.columns])
    batch = []
    for record in dataset.records(programme, sites):
        batch.append(writer.writerow([csv_cell(value) for value in record]))
        if len(batch) >= CSV_BATCH:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def csv_response(dataset: Dataset, programme: Any, sites: QuerySet | None, *,
                 filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(dataset, programme, sites),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _bold(sheet: Any, values: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def xlsx_too_large(dataset: Dataset, programme: Any, sites: QuerySet | None) -> int | None:
    """The number of rows, if there are too many to make a workbook while the person waits."""
    rows = dataset.rows(programme, sites).count()
    return rows if rows * len(dataset.columns) > XLSX_MAX_CELLS else None


def xlsx_response(dataset: Dataset, programme: Any, sites: QuerySet | None, *,
                  filename: str, about: list[tuple[str, str]]) -> FileResponse:
    """A workbook: the rows, then an "About" sheet with what the file holds and what each
    column means."""
    workbook = Workbook(write_only=True)
    # Sheet names may not hold []:*?/\ and are at most 31 characters; titles are plain words.
    sheet = workbook.create_sheet(title=dataset.title[:31])
    sheet.freeze_panes = "A2"
    sheet.append(_bold(sheet, [column.heading for column in dataset.columns]))
    for record in dataset.records(programme, sites):
        sheet.append([xlsx_cell(sheet, value) for value in record])

    notes = workbook.create_sheet(title="About")
    for key, value in about:
        notes.append([WriteOnlyCell(notes, key), xlsx_cell(notes, value)])
    notes.append([])
    notes.append(_bold(notes, ["Column", "Meaning"]))
    for column in dataset.columns:
        notes.append([column.heading, column.description])

    # Not a context manager: FileResponse closes the file once it has sent it, and a
    # temporary file is deleted when closed.
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    response = FileResponse(file, as_attachment=True, filename=filename,
                            content_type=XLSX_TYPE)
    response["Cache-Control"] = CACHE_CONTROL
    return response
