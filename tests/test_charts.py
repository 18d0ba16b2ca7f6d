"""Funnel plots as self-contained, accessible SVG that never leaks other teams' names."""

import re
import xml.etree.ElementTree as ET

import pytest

from programmes.charts import funnel_plot_svg
from programmes.funnelplot import funnel

SVG = "{http://www.w3.org/2000/svg}"

# Twelve teams round a programme mean of 1,582/2,000 = 79.1% (worked below). "Lowfield" (30/80 =
# 37.5%) is far below the limits and "Highbury" (190/200 = 95%) above them.
TEAMS = [
    ("Ashford", 80, 100),
    ("Bexley", 160, 200),
    ("Crawley", 118, 150),
    ("Dartford", 95, 120),
    ("Epsom", 200, 250),
    ("Farnham", 72, 90),
    ("Guildford", 140, 180),
    ("Hastings", 48, 60),
    ("Ipswich", 238, 300),
    ("Jarrow", 211, 270),
    ("Lowfield", 30, 80),
    ("Highbury", 190, 200),
]
MINE = "Crawley"


@pytest.fixture(scope="module")
def data():
    return funnel(TEAMS)


def render(data, **kwargs):
    options = {
        "title": "Patients seen by a lung cancer nurse specialist",
        "indicator_label": "Seen by a lung cancer nurse specialist",
    }
    return funnel_plot_svg(data, **(options | kwargs))


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_the_data_are_as_described(data):
    # Σr = 80+160+118+95+200+72+140+48+238+211+30+190 = 1,582; Σn = 2,000 → 79.1%.
    assert data.theta0 == pytest.approx(1582 / 2000)
    assert [p.label for p in data.points if p.classification.startswith("above")] == ["Highbury"]
    assert [p.label for p in data.points if p.classification.startswith("below")] == ["Lowfield"]


def test_the_svg_is_xml_with_a_title_and_description(data):
    svg = render(data, highlight=MINE, show_labels=False, national=0.76, target=0.9)
    assert svg.startswith("<svg")  # no XML declaration or DOCTYPE, so it can be inlined
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"

    title_id, desc_id = root.get("aria-labelledby").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    assert title.text == "Patients seen by a lung cancer nurse specialist"
    # The summary counts teams and describes the viewer's own team, naming no other team.
    assert desc.text == (
        "Funnel plot of 12 teams. The programme mean is 79.1%. 1 team is above the 95% limits "
        "(1 above the 99.8% limits), 1 below (1 below the 99.8% limits). Your team: 78.7% "
        "(118 of 150 patients), inside the 95% limits. The national figure is 76.0%. "
        "The target is 90.0%."
    )


def test_the_svg_scales_with_the_page(data):
    root = ET.fromstring(render(data))
    assert root.get("viewBox") == "0 0 720 440"
    assert root.get("width") == "100%"
    assert root.get("height") is None


def test_the_axes_are_labelled_as_text(data):
    words = texts(render(data))
    assert "Number of patients (denominator)" in words
    assert "Seen by a lung cancer nurse specialist" in words
    assert "80%" in words  # the y axis is a percentage


def test_the_viewers_team_is_marked(data):
    words = texts(render(data, highlight=MINE, show_labels=False))
    assert "Your team" in words


def test_a_site_view_names_no_team(data):
    # Privacy: a site member sees only their own position; the rest are anonymous dots.
    svg = render(data, highlight=MINE, show_labels=False, national=0.76)
    for label, _, _ in TEAMS:
        assert label not in svg


def test_the_core_team_view_names_every_team(data):
    words = texts(render(data, show_labels=True))
    for label, _, _ in TEAMS:
        assert label in words
    assert "Your team" not in words  # no highlight given


def test_reference_lines_are_in_the_legend(data):
    words = texts(render(data, national=0.76, target=0.9))
    assert "National (76.0%)" in words
    assert "Target (90.0%)" in words
    assert "Programme mean (79.1%)" in words
    assert "95% limits" in words
    assert "99.8% limits" in words


def test_the_same_input_draws_the_same_svg(data):
    first = render(data, highlight=MINE, national=0.76)
    assert render(data, highlight=MINE, national=0.76) == first


def test_the_svg_is_self_contained(data):
    svg = render(data, highlight=MINE)
    assert "<script" not in svg
    assert "<image" not in svg
    assert "@font-face" not in svg
    assert "@import" not in svg
    # The only URLs are the SVG and XLink namespace names.
    assert set(re.findall(r'"(https?://[^"]+)"', svg)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


def test_text_is_at_least_eleven_pixels(data):
    svg = render(data, highlight=MINE, show_labels=True, national=0.76, target=0.9)
    sizes = [float(size) for size in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert sizes
    assert min(sizes) >= 11


def test_two_charts_on_one_page_share_no_ids(data):
    one = render(data, chart_id="lcns")
    two = render(data, chart_id="ct-scan")
    ids_one = set(re.findall(r'\bid="([^"]+)"', one))
    ids_two = set(re.findall(r'\bid="([^"]+)"', two))
    assert ids_one.isdisjoint(ids_two)
    for svg, ids in ((one, ids_one), (two, ids_two)):
        # every reference inside a chart resolves to an id in that chart
        references = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
        assert references
        assert references <= ids
    # the chart's id is the one given, and the one stylesheet rule is scoped to it
    assert ET.fromstring(one).get("id") == "lcns"
    assert re.search(r"<style[^>]*>#([\w-]+) \*\{", one)[1] == "lcns"


def test_ids_differ_by_default_for_different_charts(data):
    one = ET.fromstring(render(data, title="Nurse specialist"))
    two = ET.fromstring(render(data, title="CT before bronchoscopy"))
    assert one.get("id") != two.get("id")


def test_a_chart_id_must_be_a_valid_html_id(data):
    with pytest.raises(ValueError):
        render(data, chart_id="two words")


def test_titles_are_escaped(data):
    svg = render(data, title="Surgery & SABR <stage I>")
    assert ET.fromstring(svg).find(f"{SVG}title").text == "Surgery & SABR <stage I>"


def test_teams_with_no_patients_are_counted_but_not_named():
    data = funnel([*TEAMS, ("Nowhere", 0, 0)])
    svg = render(data, show_labels=True)
    assert "1 team is not shown, having no patients in the denominator." in svg
    assert "Nowhere" not in svg
