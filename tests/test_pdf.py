"""PDFs never reach the network: only static files, read from disk."""

import pytest
from weasyprint import HTML

from ilcop.pdf import BASE_URL, SVG, StaticFilesOnly, _svg_as_image, html_to_pdf, render_pdf

from .pdf import pdf_text


def test_static_files_are_read_from_disk():
    response = StaticFilesOnly().fetch(BASE_URL + "static/css/pdf.css")
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


@pytest.mark.parametrize("url", [
    "https://example.com/static/css/pdf.css",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    BASE_URL + "media/anything.png",
    BASE_URL + "static/../../etc/passwd",
    BASE_URL + "static/no-such-file.css",
])
def test_anything_else_is_refused(url):
    with pytest.raises(Exception):  # noqa: B017 - WeasyPrint catches any exception as "not loaded"
        StaticFilesOnly().fetch(url)


def test_a_template_that_points_at_the_network_still_renders(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the PDF renderer tried to use the network")

    monkeypatch.setattr("urllib.request.OpenerDirector.open", no_network)
    html = ('<link rel="stylesheet" href="https://cdn.example/x.css">'
            '<img src="http://example.com/tracker.png" alt=""><p>Hello</p>')
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly()).write_pdf()
    assert pdf.startswith(b"%PDF")
    assert render_pdf("pdf/base.html", {}).startswith(b"%PDF")


def test_the_pdf_stylesheet_is_inline_so_stored_html_stands_on_its_own():
    from django.template.loader import render_to_string

    html = render_to_string("pdf/base.html", {})
    assert "<style>" in html and "@page" in html
    assert 'rel="stylesheet"' not in html


def test_a_data_url_is_decoded_in_place_never_fetched():
    response = StaticFilesOnly().fetch("data:image/svg+xml;base64,PHN2Zy8+")
    assert response.read() == b"<svg/>"
    assert response.content_type == "image/svg+xml"
    assert StaticFilesOnly().fetch("data:text/plain,a%20b").read() == b"a b"


def test_inline_charts_are_drawn_as_images_of_themselves_with_their_text_kept():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 50" role="img">'
           '<title>Funnel &amp; limits</title><text x="5" y="30">Number of patients</text></svg>')
    html = f'<figure class="app-chart">{svg}</figure><p>After the chart</p>'
    image = SVG.sub(_svg_as_image, html)
    assert image.startswith('<figure class="app-chart"><img class="pdf-svg" alt="Funnel &amp; '
                            'limits" src="data:image/svg+xml;base64,')
    text = pdf_text(html_to_pdf(html))
    assert "Number of patients" in text and "After the chart" in text


def test_pdfs_are_tagged_for_screen_readers():
    from io import BytesIO

    from pypdf import PdfReader

    pdf = html_to_pdf("<h1>Visit report</h1><table><tr><th>Role</th></tr></table>")
    root = PdfReader(BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
