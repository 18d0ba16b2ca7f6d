"""ilcop.uploads: what we accept, and how a stored document is sent back."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.fields.files import FieldFile
from django.http import Http404

from ilcop import uploads
from programmes.models import Resource

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
DOCX = b"PK\x03\x04" + b"\x00" * 60


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize("name,content", [
    ("slides.pdf", PDF), ("Plan.DOCX", DOCX), ("notes.txt", "Café notes\n".encode()),
    ("data.csv", b"site,value\nA,1\n"), ("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 20),
    ("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20),
])
def test_the_formats_teams_share_are_accepted(name, content):
    uploads.validate_upload(upload(name, content))


@pytest.mark.parametrize("name,content,message", [
    ("script.html", b"<script>alert(1)</script>", "not a file type we accept"),
    ("run.exe", b"MZ\x90\x00", "not a file type we accept"),
    ("no-extension", PDF, "not a file type we accept"),
    # An HTML page renamed to .pdf: the name says PDF, the bytes do not.
    ("slides.pdf", b"<html><script>alert(1)</script></html>", "not a real .pdf file"),
    ("plan.docx", PDF, "not a real .docx file"),
    ("notes.txt", b"binary\x00\x01", "does not look like a text file"),
    ("empty.pdf", b"", "The selected file is empty"),
])
def test_anything_else_is_refused_with_a_message_saying_what_to_do(name, content, message):
    with pytest.raises(ValidationError) as refused:
        uploads.validate_upload(upload(name, content))
    assert message in refused.value.messages[0]


def test_a_file_over_the_limit_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ValidationError, match="must be smaller than"):
        uploads.validate_upload(upload("big.pdf", PDF + b"0" * 200))


@pytest.mark.parametrize("given,shown", [
    ("C:\\Users\\lena\\Desktop\\Slides.pdf", "Slides.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("line\nbreak\u202e.pdf", "linebreak.pdf"),
    ("", "document"),
    ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
])
def test_the_name_shown_and_downloaded_has_no_folders_or_control_characters(given, shown):
    assert uploads.display_name(given) == shown


def test_stored_names_are_random_and_keep_only_the_extension():
    first = uploads.resource_path(None, "Sustainability plan for Wyvern.PDF")
    second = uploads.resource_path(None, "Sustainability plan for Wyvern.PDF")
    assert first != second
    assert first.startswith("resources/") and first.endswith(".pdf")
    assert "Wyvern" not in first


def test_a_download_is_an_attachment_never_sniffed_or_cached(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("events/abc.pdf", ContentFile(PDF))
    field = _field(name)
    response = uploads.file_response(field, filename="Workshop slides.pdf")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Workshop slides.pdf" in response["Content-Disposition"]
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == PDF


def test_a_file_missing_from_storage_is_a_404_not_a_500(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(Http404):
        uploads.file_response(_field("events/gone.pdf"), filename="gone.pdf")
    with pytest.raises(Http404):
        uploads.file_response(_field(""), filename="nothing.pdf")


def _field(name: str) -> FieldFile:
    return FieldFile(Resource(), Resource._meta.get_field("file"), name)
