"""The report page's segment chooser and its comparison of segments side by side."""

import html
import json
import re

import pytest
from django.urls import reverse

from screenings import services
from screenings.reports.exporters import EXPORTERS
from tests.factories import ScreeningFactory
from tests.screenings.report_fixtures import _probabilities

pytestmark = pytest.mark.django_db


def report_page(client, screening, query: str = ""):
    return client.get(reverse("organizer-report", args=[screening.pk]) + query)


def page_json(response, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', response.content.decode())
    assert found, f"the page has no {name} JSON"
    return json.loads(found.group(1))


def test_the_chooser_offers_every_segment_and_everyone(organizer_client, trailer, keen, unsure):
    page = report_page(organizer_client, trailer).content.decode()
    assert '<option value="" selected>All participants</option>' in page
    assert f'<option value="{keen.pk}">Keen</option>' in page and f'<option value="{unsure.pk}">Unsure</option>' in page


def test_a_chosen_segment_restricts_the_curves_and_says_so(organizer_client, trailer, keen):
    response = report_page(organizer_client, trailer, f"?segment={keen.pk}")
    assert response.status_code == 200
    assert "Segment <strong>Keen</strong> only: 2 participants" in response.content.decode()
    first = page_json(response, "report-chart")["timeline"]["bins"][0]
    expected = (_probabilities(0, 0)["happy"] + _probabilities(2, 0)["happy"]) / 2
    assert first["participants"] == 2 and first["happy"] == pytest.approx(expected)


def test_the_download_links_carry_the_segment_bin_and_smoothing(organizer_client, trailer, keen):
    page = html.unescape(
        report_page(organizer_client, trailer, f"?bin=5&smoothing=3&segment={keen.pk}").content.decode()
    )
    links = re.findall(r'href="([^"]*/report/download/[^"]*)"', page)
    assert len(links) == len(EXPORTERS)
    assert all(link.endswith(f"?bin=5&smoothing=3&segment={keen.pk}") for link in links)


def test_the_charts_follow_the_segment(organizer_client, trailer, keen):
    for chart in ("timeline", "summary", "scenes"):
        url = reverse("organizer-chart", args=[trailer.pk, chart]) + f"?segment={keen.pk}"
        assert organizer_client.get(url)["Content-Type"] == "image/png"


def test_two_segments_are_compared_side_by_side(organizer_client, trailer, keen, unsure):
    response = report_page(organizer_client, trailer, f"?compare={keen.pk}&compare={unsure.pk}&bin=5")
    page = response.content.decode()
    assert "Segments compared" in page
    compared = page_json(response, "segment-comparison")["segments"]
    assert [(entry["name"], entry["timeline"]["bin_seconds"]) for entry in compared] == [("Keen", 5.0), ("Unsure", 5.0)]
    assert {bin["participants"] for bin in compared[0]["timeline"]["bins"]} == {2}
    assert {bin["participants"] for bin in compared[1]["timeline"]["bins"]} == {1}
    assert "“Would you watch it?” (after) is Yes" in html.unescape(page)


def test_one_segment_alone_is_no_comparison(organizer_client, trailer, keen, unsure):
    response = report_page(organizer_client, trailer, f"?compare={keen.pk}")
    assert response.status_code == 400 and "Choose 2 to 4 segments to compare." in response.content.decode()


def test_a_segment_of_another_screening_is_refused_on_the_page(organizer_client, trailer, organizer):
    other = services.segment_create(screening=ScreeningFactory(owner=organizer), name="Other", rules=[])
    response = report_page(organizer_client, trailer, f"?segment={other.pk}")
    assert response.status_code == 400 and f"This screening has no segment {other.pk}." in response.content.decode()
    chart = reverse("organizer-chart", args=[trailer.pk, "timeline"]) + f"?segment={other.pk}"
    assert organizer_client.get(chart).status_code == 400


def test_another_organizer_gets_404_for_the_page_and_charts_of_a_segment(other_organizer_client, trailer, keen, unsure):
    assert report_page(other_organizer_client, trailer, f"?segment={keen.pk}").status_code == 404
    assert report_page(other_organizer_client, trailer, f"?compare={keen.pk}&compare={unsure.pk}").status_code == 404
    chart = reverse("organizer-chart", args=[trailer.pk, "timeline"]) + f"?segment={keen.pk}"
    assert other_organizer_client.get(chart).status_code == 404
