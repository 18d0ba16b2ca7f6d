"""Reading a PDF's text back, as a person copying it out would see it."""

import io

import pypdf


def pdf_text(content: bytes) -> str:
    """Every page's text, with runs of whitespace (line breaks included) made one space."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join("\n".join(page.extract_text() for page in reader.pages).split())
