"""Documents people upload (event slides, library resources, evidence): what we accept, where
the file goes, and how it is sent back.

Uploaded files are never served from MEDIA_URL: every download goes through a view that first
checks who may see the file (an out-of-scope file is a 404 like any other record), and then
`file_response` sends it as an attachment. An attachment with `nosniff` is never rendered by
the browser as a page of ours, so an HTML or SVG file renamed to .pdf cannot run script in our
origin (OWASP File Upload Cheat Sheet: "Content-Disposition: attachment", "nosniff").

What is accepted: the office, PDF, image and text formats clinical teams share, named by
extension and checked against the file's first bytes where the format has a signature, up to
MAX_UPLOAD_BYTES. The stored name is random; the person's file name is kept in the database
only to name the download.
"""

import logging
import mimetypes
import posixpath
import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # a long slide deck with images; email servers refuse more

# Zip containers (OOXML and OpenDocument) all start "PK\x03\x04"; the old Office formats are
# OLE2 compound files. Plain-text formats have no signature and are only checked for NULs.
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
SIGNATURES: dict[str, tuple[bytes, ...] | None] = {
    "pdf": (b"%PDF-",),
    "docx": _ZIP, "xlsx": _ZIP, "pptx": _ZIP, "odt": _ZIP, "ods": _ZIP, "odp": _ZIP,
    "doc": _OLE, "xls": _OLE, "ppt": _OLE,
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "txt": None, "csv": None, "rtf": (b"{\\rtf",),
}
ACCEPTED_EXTENSIONS = tuple(SIGNATURES)
ACCEPT_ATTRIBUTE = ",".join(f".{extension}" for extension in ACCEPTED_EXTENSIONS)
ACCEPTED_DESCRIPTION = ("PDF, Word, Excel, PowerPoint, OpenDocument, RTF, text, CSV, PNG or "
                        "JPEG")


def _extension(filename: str, *, dot: bool = False) -> str:
    extension = posixpath.splitext(filename or "")[1].lower().lstrip(".")
    return f".{extension}" if dot and extension else extension


def validate_upload(file: UploadedFile) -> None:
    """Refuse a file we would not want to hand to someone else, with a message that says what
    to do about it."""
    extension = _extension(file.name)
    if extension not in SIGNATURES:
        raise ValidationError(
            f"“{display_name(file.name)}” is not a file type we accept. Upload a "
            f"{ACCEPTED_DESCRIPTION} file.")
    if file.size == 0:
        raise ValidationError("The selected file is empty. Choose the file again.")
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The selected file must be smaller than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
            "Save a smaller copy (for example, compress the pictures in slides) and try again.")
    file.seek(0)
    head = file.read(2048)
    file.seek(0)
    signatures = SIGNATURES[extension]
    if signatures is None:
        if b"\x00" in head:
            raise ValidationError(f"“{display_name(file.name)}” does not look like a text "
                                  f"file. Check you chose the right file.")
    elif not head.startswith(signatures):
        raise ValidationError(
            f"“{display_name(file.name)}” is not a real .{extension} file: its contents do not "
            "match its name. Open it and save it again in that format, then upload it.")


def display_name(filename: str, *, limit: int = 150) -> str:
    """The person's file name, cleaned for showing and for naming the download: no folders,
    no control characters, not too long."""
    name = posixpath.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > limit:
        stem, extension = posixpath.splitext(name)
        name = stem[: limit - len(extension)] + extension
    return name or "document"


def file_response(field: FieldFile, *, filename: str) -> FileResponse:
    """Send a stored upload as a download. A file missing from storage (a restore that lost
    the media volume) is a 404, not a 500."""
    if not field:
        raise Http404("No file")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage") from None
    name = display_name(filename)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=name,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    # Health-service documents: never kept by a shared or browser cache.
    response["Cache-Control"] = "private, no-store"
    return response


# upload_to callables, one per kind of document (migrations refer to them by name). The stored
# name is random; the person's file name is kept on the row to name the download.
def event_material_path(instance, filename: str) -> str:
    return f"events/{uuid.uuid4().hex}{_extension(filename, dot=True)}"


def resource_path(instance, filename: str) -> str:
    return f"resources/{uuid.uuid4().hex}{_extension(filename, dot=True)}"


def evidence_path(instance, filename: str) -> str:
    return f"evidence/{uuid.uuid4().hex}{_extension(filename, dot=True)}"


def review_document_path(instance, filename: str) -> str:
    return f"reviews/{uuid.uuid4().hex}{_extension(filename, dot=True)}"


class UploadedDocument(models.Model):
    """What every titled document people upload keeps besides its file: a self-report's
    evidence (programmes.EvidenceDocument), a review's pre-visit documents
    (visits.ReviewDocument). Each subclass adds its ``file`` (with its own upload_to above) and
    what it belongs to."""

    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.title


# --- Files of deleted rows --------------------------------------------------------------------


def _stored_files() -> dict[tuple[int, str], Storage]:
    """Every file a row refers to, keyed by (its storage, its name), from every model's
    FileFields: so a kind of document added later is covered without a change here."""
    found: dict[tuple[int, str], Storage] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                names = (model._base_manager.exclude(**{field.attname: ""})
                         .values_list(field.attname, flat=True).distinct())
                found.update({(id(field.storage), name): field.storage
                              for name in names if name})
    return found


@contextmanager
def deleting_files_of_deleted_rows() -> Iterator[None]:
    """Delete from storage the files that rows referred to before the block and none refers
    to after it: the files of the rows the block deleted, however they went (a cascade, a raw
    DELETE). A file no row referred to is never touched, nor one another row still refers to.

    Deleting a row leaves its file behind (Django's FileField never deletes files), so code
    that deletes rows in bulk, such as seed_demo --reset, runs inside this. The files go once
    the transaction commits: a rolled-back delete keeps rows that still point at them."""
    before = _stored_files()
    yield
    gone = [(before[key], key[1]) for key in before.keys() - _stored_files().keys()]
    if gone:
        transaction.on_commit(lambda: _delete_files(gone))


def _delete_files(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        storage.delete(name)
    logger.info("deleted %s stored files whose rows were deleted", len(files))
