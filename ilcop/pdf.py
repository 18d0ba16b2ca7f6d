"""PDFs drawn by WeasyPrint from Django templates.

A PDF is rendered from the same kind of template as a page, with a print stylesheet. It must
never reach the network: many NHS networks cannot, and a document should not change with what
a remote server returns. So the only URLs a template may use are static files, which are read
from disk; anything else is refused (and WeasyPrint leaves it out).
"""

import base64
import mimetypes
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.text import slugify
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Relative URLs in a template ("/static/css/pdf.css") resolve against this made-up origin,
# which the fetcher below recognises; nothing is ever requested from it.
BASE_URL = "https://pdf.invalid/"


class StaticFilesOnly(URLFetcher):
    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "data":
            return _data_url(url)
        if f"{parts.scheme}://{parts.netloc}/" != BASE_URL:
            raise ValueError("PDFs use local static files only")
        path = unquote(parts.path)
        if not path.startswith(settings.STATIC_URL):
            raise ValueError("PDFs use local static files only")
        found = static_file(path.removeprefix(settings.STATIC_URL))
        content_type = mimetypes.guess_type(found)[0] or "application/octet-stream"
        return URLFetcherResponse(url, found.read_bytes(), {"Content-Type": content_type})


def static_file(name: str) -> Path:
    """A static file on disk: from the apps' static folders, or where collectstatic put it."""
    found = finders.find(name) or _collected(name)
    if not found:
        raise ValueError(f"No static file {name}")
    return Path(found)


def _collected(name: str) -> str | None:
    """A file in STATIC_ROOT, where collectstatic writes the hashed names production uses."""
    if not settings.STATIC_ROOT:
        return None
    root = Path(settings.STATIC_ROOT).resolve()
    candidate = (root / name).resolve()
    if root in candidate.parents and candidate.is_file():
        return str(candidate)
    return None


def _data_url(url: str) -> URLFetcherResponse:
    """A data: URL (RFC 2397) carries its content in itself: decoded here, never fetched."""
    header, _, payload = url.partition(",")
    content_type = header.removeprefix("data:").split(";")[0] or "text/plain"
    body = (base64.b64decode(payload) if header.endswith(";base64")
            else unquote(payload).encode())
    return URLFetcherResponse(url, body, {"Content-Type": content_type})


SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.S)


def _svg_as_image(match: re.Match) -> str:
    """An inline chart, drawn as an image of itself. WeasyPrint styles every element of an
    inline SVG as part of the HTML document, which for a funnel plot's two thousand nodes
    costs more than all the report's tables; as an image the SVG is parsed on its own and
    drawn the same, text as text. The image's alt text is the chart's title."""
    svg = match.group()
    title = SVG_TITLE.search(svg)
    alt = unescape(title.group(1)) if title else ""
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="pdf-svg" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def render_pdf(template: str, context: dict) -> bytes:
    return html_to_pdf(render_to_string(template, context))


def html_to_pdf(html: str) -> bytes:
    """A PDF of HTML rendered earlier (say, a report frozen when it was approved)."""
    html = SVG.sub(_svg_as_image, html)
    # Tagged: headings, tables and lists are marked up inside the PDF, so a screen reader can
    # navigate the report as it can the page (WCAG 2.2 and PDF/UA); a tenth slower to draw.
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly()).write_pdf(
        pdf_tags=True)


def pdf_response(template: str, context: dict, *, filename: str) -> HttpResponse:
    response = HttpResponse(render_pdf(template, context), content_type="application/pdf")
    name = slugify(filename) or "document"
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response
