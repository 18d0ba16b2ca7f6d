"""Reading uploaded spreadsheets for all-or-nothing imports.

Every importer works the same way: read the whole file into text cells, check every row and
collect every problem, and write nothing unless there are none. Problems name the row and
column as a person sees them in a spreadsheet program: the header is row 1, so the first data
row is row 2.
"""

import csv
import io
import warnings
from dataclasses import dataclass

import pandas as pd

MAX_ROWS = 20_000


@dataclass(frozen=True, order=True)
class RowError:
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}, column “{self.column}”" if self.row else f"Column “{self.column}”"
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """Raised with every problem found; nothing has been written."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: (e.row or 0, e.column))
        super().__init__(f"{len(self.errors)} problem(s) in the file")


def _decode(raw: bytes) -> str:
    # Excel on Windows saves "CSV" as cp1252 unless told otherwise; utf-8-sig drops the BOM.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([RowError(None, "file", "is not a text CSV file. Save it as CSV UTF-8.")])


def read_csv_table(uploaded, *, required_columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    """Return (spreadsheet row number, {column: stripped text}) for each non-blank row.

    Column names are matched without regard to case, spaces or underscores, so "Site code",
    "site_code" and " SITE CODE " are the same column.
    """
    text = _decode(uploaded.read())
    if "\x00" in text:
        raise ImportFailed([RowError(None, "file", "is not a text CSV file. Save it as CSV UTF-8.")
                            ])
    if not text.strip():
        raise ImportFailed([RowError(None, "file", "is empty.")])
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
        raise ImportFailed(
            [RowError(None, "file", f"could not be read as CSV ({exc}).")]
        ) from None

    frame.columns = [normalise_column(c) for c in frame.columns]
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise ImportFailed(
            [RowError(1, c, "this column is missing from the header row.") for c in missing]
        )
    _check_row_lengths(text)
    if len(frame) > MAX_ROWS:
        raise ImportFailed([RowError(None, "file", f"has more than {MAX_ROWS:,} rows.")])

    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        cells = {k: "" if pd.isna(v) else str(v).strip() for k, v in record.items()}
        if any(cells.values()):
            rows.append((index + 2, cells))
    if not rows:
        raise ImportFailed([RowError(None, "file", "has a header row but no data rows.")])
    return rows


def _check_row_lengths(text: str) -> None:
    """Refuse rows with more values than the header has names.

    pandas would silently drop the extra values (or, without index_col=False, shift every
    column along by one); an empty trailing cell, as spreadsheets often write, is fine.
    """
    rows = csv.reader(io.StringIO(text))
    header = next(rows, [])
    errors = [
        RowError(number, "file", f"has {len(row)} values but row 1 has only {len(header)} "
                 "column names. Check for an extra comma or a misplaced value.")
        for number, row in enumerate(rows, start=2)
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header):])
    ]
    if errors:
        raise ImportFailed(errors)


def normalise_column(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("_", " ").split())
