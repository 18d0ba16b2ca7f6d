"""Reading uploaded spreadsheets for all-or-nothing imports.

Every importer works the same way: read the whole file into text cells, check every row and
collect every problem, and write nothing unless there are none. Problems name the row and
column as a person sees them in a spreadsheet program: the header is row 1, so the first data
row is row 2. An Excel workbook may hold several sheets; each sheet with the expected columns
is read, and problems name their sheet too.
"""

import csv
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass

import pandas as pd

logger = logging.getLogger(__name__)

MAX_ROWS = 20_000
FILE = "file"


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str
    message: str
    sheet: str | None = None

    def __str__(self) -> str:
        parts = [f"sheet “{self.sheet}”"] if self.sheet else []
        if self.row:
            parts.append(f"row {self.row}")
        if self.column != FILE:
            parts.append(f"column “{self.column}”")
        where = ", ".join(parts) or "the file"
        where = where[0].upper() + where[1:]
        # Whole-file and whole-row problems read as a sentence: "The file is empty."
        return f"{where} {self.message}" if self.column == FILE else f"{where}: {self.message}"


@dataclass(frozen=True)
class Row:
    sheet: str | None
    number: int
    cells: dict[str, str]


class ImportFailed(Exception):
    """Raised with every problem found; nothing has been written."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: (e.sheet or "", e.row or 0, e.column))
        super().__init__(f"{len(self.errors)} problem(s) in the file")


NOT_A_TABLE = "is not a CSV file or an Excel workbook. Save it as CSV UTF-8 or .xlsx."


def _decode(raw: bytes) -> str:
    # Excel on Windows saves "CSV" as cp1252 unless told otherwise; utf-8-sig drops the BOM.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([RowError(None, FILE, NOT_A_TABLE)])


def normalise_column(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("_", " ").split())


def read_table(uploaded, *, required_columns: list[str]) -> list[Row]:
    """Every non-blank row of a CSV file or of each sheet of an .xlsx workbook.

    Column names are matched without regard to case, spaces or underscores, so "Site code",
    "site_code" and " SITE CODE " are the same column. Cells are stripped text.
    """
    raw = uploaded.read()
    if raw[:4] == b"PK\x03\x04":
        rows = _read_workbook(raw, required_columns)
    else:
        rows = _read_csv(_decode(raw), required_columns)
    if not rows:
        raise ImportFailed([RowError(None, FILE, "has a header row but no data rows.")])
    if len(rows) > MAX_ROWS:
        raise ImportFailed([RowError(None, FILE, f"has more than {MAX_ROWS:,} rows.")])
    return rows


def read_csv_table(uploaded, *, required_columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    """(row number, cells) for each row: read_table for importers that take CSV only."""
    return [(row.number, row.cells) for row in read_table(uploaded,
                                                          required_columns=required_columns)]


def _read_csv(text: str, required_columns: list[str]) -> list[Row]:
    if "\x00" in text:
        raise ImportFailed([RowError(None, FILE, NOT_A_TABLE)])
    if not text.strip():
        raise ImportFailed([RowError(None, FILE, "is empty.")])
    try:
        with warnings.catch_warnings():
            # Rows longer than the header are reported by _check_row_lengths below.
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False,
                skipinitialspace=True,
                # A trailing comma on data rows must not turn the first column into an index.
                index_col=False,
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        _check_row_lengths(text)
        raise ImportFailed([RowError(None, FILE, f"could not be read as CSV ({exc}).")]) \
            from None
    _check_columns(frame, required_columns, sheet=None)
    _check_row_lengths(text)
    return _rows(frame, sheet=None)


# A workbook's XML, unzipped, for the largest import we accept; a bigger one would tie up a
# web worker for minutes before the row limit could be checked.
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024


def _read_workbook(raw: bytes, required_columns: list[str]) -> list[Row]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unzipped = sum(entry.file_size for entry in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFailed([RowError(None, FILE, NOT_A_TABLE)]) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise ImportFailed([RowError(None, FILE, "is too large a workbook to import. Save "
                                     "just the data sheets, or split the file.")])
    try:
        sheets = pd.read_excel(io.BytesIO(raw), sheet_name=None, dtype=str, header=0,
                               keep_default_na=False, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in many parsers' ways
        logger.info("unreadable workbook (%s)", type(exc).__name__)
        raise ImportFailed([RowError(None, FILE, "could not be read as an Excel workbook. "
                                     "Open it in Excel, save it again and retry.")]) from None
    rows: list[Row] = []
    data_sheets = 0
    for name, frame in sheets.items():
        frame.columns = [normalise_column(c) for c in frame.columns]
        # Sheets without the data columns (notes, a contents page) are not data.
        if not set(required_columns) & set(frame.columns):
            continue
        data_sheets += 1
        _check_columns(frame, required_columns, sheet=name)
        rows.extend(_rows(frame, sheet=name))
    if not data_sheets:
        raise ImportFailed([
            RowError(None, FILE, "has no sheet with the expected columns: "
                     + ", ".join(required_columns) + ".")
        ])
    return rows


def _check_columns(frame: pd.DataFrame, required_columns: list[str], *, sheet) -> None:
    frame.columns = [normalise_column(c) for c in frame.columns]
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise ImportFailed([
            RowError(1, c, "this column is missing from the header row.", sheet=sheet)
            for c in missing
        ])


def _rows(frame: pd.DataFrame, *, sheet) -> list[Row]:
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        cells = {k: "" if pd.isna(v) else str(v).replace("\x00", "").strip()
                 for k, v in record.items()}
        if any(cells.values()):
            rows.append(Row(sheet, index + 2, cells))
    return rows


def _check_row_lengths(text: str) -> None:
    """Refuse rows with more values than the header has names.

    pandas would silently drop the extra values (or, without index_col=False, shift every
    column along by one); an empty trailing cell, as spreadsheets often write, is fine.
    """
    # newline="" as the csv docs ask: a lone carriage return (old Mac line ends, or one
    # pasted into a cell) then ends a line as it does for pandas, instead of raising.
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows, [])
        errors = [
            RowError(number, FILE, f"has {len(row)} values but row 1 has only {len(header)} "
                     "column names. Check for an extra comma or a misplaced value.")
            for number, row in enumerate(rows, start=2)
            if len(row) > len(header) and any(cell.strip() for cell in row[len(header):])
        ]
    except csv.Error as exc:  # for example a cell over csv.field_size_limit()
        raise ImportFailed([RowError(None, FILE, f"could not be read as CSV ({exc}).")]) \
            from None
    if errors:
        raise ImportFailed(errors)
