"""The report pages hand their curves to the browser: the report's JSON written with json_script, the vendored
uPlot and the page's module (no inline script), and the stimulus to replay, only to the screening's organizers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from screenings.models import Participant
from screenings.reports.builder import participant_report, screening_report
from tests.factories import EmotionSampleFactory, ParticipantFactory, SceneFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

HAPPY = {"angry": 0.05, "disgust": 0.0, "fear": 0.05, "happy": 0.7, "sad": 0.05, "surprise": 0.05, "neutral": 0.1}


@pytest.fixture
def watched(screening):  # type: ignore[no-untyped-def]
    """Two viewers of the organizer's screening sampled for six seconds, one scene."""
    SceneFactory(screening=screening, start=0, end=3, label="Opening")
    for external_id in ("A", "B"):
        viewer = ParticipantFactory(screening=screening, state=Participant.State.COMPLETED, external_id=external_id)
        for second in range(6):
            EmotionSampleFactory(participant=viewer, media_time=float(second), face_found=second != 4, **HAPPY)
    return screening


def report_url(screening, *args: object) -> str:  # type: ignore[no-untyped-def]
    return reverse("organizer-report", args=[screening.pk, *args])


def participant_url(participant) -> str:  # type: ignore[no-untyped-def]
    return reverse("organizer-participant", args=[participant.screening_id, participant.pk])


def page_config(response) -> dict:  # type: ignore[no-untyped-def]
    found = re.search(r'<script id="report-chart" type="application/json">(.*?)</script>', response.content.decode())
    assert found, "the page has no report-chart JSON"
    return json.loads(found.group(1))


def scripts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r"<script[^>]*>", response.content.decode())


class TestScreeningReport:
    def test_the_page_carries_the_reports_timeline_and_scenes(self, organizer_client, watched):
        config = page_config(organizer_client.get(report_url(watched)))
        report = screening_report(watched)
        assert config["timeline"] == json.loads(json.dumps(report["timeline"]))
        assert config["emotions"] == report["emotions"] and set(config["colours"]) == set(report["emotions"])
        assert config["scenes"] == [{"start": 0.0, "end": 3.0, "label": "Opening"}]
        # The viewers behind each point, for the chart's strip; no face at 4 s, so no point there.
        assert [(b["start"], b["participants"]) for b in config["timeline"]["bins"]] == [
            (0, 2), (1, 2), (2, 2), (3, 2), (5, 2)
        ]  # fmt: skip

    def test_the_curves_follow_the_chosen_bin_and_smoothing(self, organizer_client, watched):
        config = page_config(organizer_client.get(report_url(watched) + "?bin=3&smoothing=1"))
        assert config["timeline"]["bin_seconds"] == 3.0 and [b["start"] for b in config["timeline"]["bins"]] == [0, 3]

    def test_the_uploaded_stimulus_plays_from_the_organizers_address(self, organizer_client, watched):
        response = organizer_client.get(report_url(watched))
        stimulus = reverse("organizer-stimulus", args=[watched.pk])
        assert page_config(response)["stimulusSrc"] == stimulus
        assert f'<video id="stimulus-player" class="replay-player" src="{stimulus}"' in response.content.decode()

    def test_an_external_stimulus_plays_from_its_address_and_none_means_no_player(self, organizer, organizer_client):
        external = ScreeningFactory(owner=organizer, stimulus=None, stimulus_url="https://cdn.example.org/cut.mp4")
        assert page_config(organizer_client.get(report_url(external)))["stimulusSrc"] == external.stimulus_url
        bare = ScreeningFactory(owner=organizer, stimulus=None)
        response = organizer_client.get(report_url(bare))
        assert page_config(response)["stimulusSrc"] is None and "<video" not in response.content.decode()

    def test_only_the_sites_own_scripts_run_and_the_png_stays_for_noscript(self, organizer_client, watched):
        response = organizer_client.get(report_url(watched))
        for tag in scripts(response):
            assert 'type="application/json"' in tag or re.search(r'src="/static/[^"]+\.js"', tag), tag
        page = response.content.decode()
        assert '<script type="module" src="/static/js/report-curves.js">' in page
        assert 'href="/static/vendor/uplot/uPlot.min.css"' in page
        assert f'<noscript><img class="chart" src="{reverse("organizer-chart", args=[watched.pk, "timeline"])}?' in page


class TestParticipantReport:
    def test_the_page_carries_their_own_samples_and_the_scenes(self, organizer_client, watched):
        viewer = watched.participants.get(external_id="A")
        config = page_config(organizer_client.get(participant_url(viewer)))
        assert config["samples"] == json.loads(json.dumps(participant_report(viewer)["timeline"]))
        assert [sample["face"] for sample in config["samples"]] == [True] * 4 + [False, True]
        assert config["scenes"] == [{"start": 0.0, "end": 3.0, "label": "Opening"}]
        assert config["stimulusSrc"] == reverse("organizer-stimulus", args=[watched.pk])


def test_the_vendored_chart_library_is_served_with_its_licence():
    for name in ("uPlot.esm.js", "uPlot.min.css", "LICENSE", "README.md"):
        assert finders.find(f"vendor/uplot/{name}"), name
    assert "uplot@1.6.32" in Path(finders.find("vendor/uplot/README.md")).read_text()  # type: ignore[arg-type]
    assert "uPlot.js (μPlot)" in Path(finders.find("vendor/uplot/uPlot.esm.js")).read_text()[:400]  # type: ignore[arg-type]


def test_another_organizer_gets_404_for_the_curves_and_the_stimulus(other_organizer_client, watched):
    viewer = watched.participants.first()
    for url in (report_url(watched), participant_url(viewer), reverse("organizer-stimulus", args=[watched.pk])):
        assert other_organizer_client.get(url).status_code == 404, url
