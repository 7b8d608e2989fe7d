"""Screenings side by side and their norms: the page, the API, their bad requests and their access rules."""

from __future__ import annotations

import json
import statistics

import pytest
from django.urls import reverse

from screenings.reports.comparison import comparison, percentile_rank
from tests.factories import EmotionSampleFactory, ParticipantFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


def watched(screening, happiness: list[list[float]]) -> None:  # type: ignore[no-untyped-def]
    """One viewer per list, one face a second with that happy probability (the rest neutral)."""
    for row in happiness:
        viewer = ParticipantFactory(screening=screening)
        for media_time, happy in enumerate(row):
            dominant = "happy" if happy >= 0.5 else "neutral"
            EmotionSampleFactory(participant=viewer, media_time=float(media_time), angry=0, disgust=0, fear=0,
                                 sad=0, surprise=0, happy=happy, neutral=round(1 - happy, 6),
                                 dominant_emotion=dominant)  # fmt: skip


@pytest.fixture
def cuts(organizer):  # type: ignore[no-untyped-def]
    """Two cuts of one trailer, 4 s and 8 s long, and a third screening of the organizer's."""
    short = ScreeningFactory(owner=organizer, title="Short cut", stimulus_duration=4.0)
    long = ScreeningFactory(owner=organizer, title="Long cut", stimulus_duration=8.0)
    other = ScreeningFactory(owner=organizer, title="Another ad", stimulus_duration=4.0)
    watched(short, [[0.8, 0.8, 0.8, 0.8], [0.6, 0.6, 0.6, 0.6]])
    watched(long, [[0.2] * 8, [0.4] * 8, [0.3] * 8])
    watched(other, [[0.5] * 4])
    return short, long, other


def test_each_screening_gets_its_viewers_mean_with_an_interval_and_its_percentile(cuts):
    short, long, other = cuts
    result = comparison([short, long], pool=[short, long, other])
    first, second = result["screenings"]
    # Valence is happy here: the viewers' means are 0.8 and 0.6, then 0.2, 0.4 and 0.3.
    assert first["metrics"]["valence"]["mean"] == pytest.approx(0.7) and first["metrics"]["viewers"] == 2
    assert second["metrics"]["valence"]["mean"] == pytest.approx(0.3)
    half = 4.302652729911275 * statistics.stdev([0.2, 0.4, 0.3]) / 3**0.5  # t(0.975, 2 degrees of freedom)
    assert second["metrics"]["valence"]["lower"] == pytest.approx(0.3 - half)
    # Among 0.7, 0.3 and 0.5: the short cut is the highest, the long cut the lowest.
    assert first["norms"]["valence"] == {"value": pytest.approx(0.7), "percentile": pytest.approx(500 / 6), "among": 3}
    assert second["norms"]["valence"]["percentile"] == pytest.approx(100 / 6)
    assert first["norms"]["attention"]["percentile"] == pytest.approx(50.0)  # every viewer attended throughout


def test_on_the_relative_scale_both_cuts_run_from_start_to_end(cuts):
    short, long, _ = cuts
    seconds = comparison([short, long], pool=[short, long], scale="seconds")["screenings"]
    assert seconds[0]["curve"]["at"] == [0.0, 1.0, 2.0, 3.0] and seconds[1]["curve"]["at"][-1] == 7.0
    relative = comparison([short, long], pool=[short, long], scale="relative")["screenings"]
    assert relative[0]["curve"]["at"] == [0.0, 0.25, 0.5, 0.75]
    assert relative[1]["curve"]["at"] == [index / 8 for index in range(8)]
    assert relative[0]["curve"]["valence"] == pytest.approx([0.7] * 4)


def test_a_percentile_counts_ties_as_half():
    assert percentile_rank(2.0, [1.0, 2.0, 2.0, 3.0]) == 50.0
    assert percentile_rank(3.0, [1.0, 2.0, 3.0]) == pytest.approx(500 / 6)


def test_the_page_draws_the_chosen_screenings_from_their_json(organizer_client, cuts):
    short, long, _ = cuts
    response = organizer_client.get(reverse("organizer-compare"), {"screenings": [short.pk, long.pk]})
    assert response.status_code == 200
    config = response.context["comparison"]
    assert [entry["title"] for entry in config["screenings"]] == ["Short cut", "Long cut"]
    assert b'id="comparison"' in response.content and b"js/compare.js" in response.content
    assert response.context["rows"][0]["top_reaction"] == ("happy", 1.0)


def test_the_page_without_a_choice_offers_the_organizers_screenings(organizer_client, cuts, other_organizer):
    ScreeningFactory(owner=other_organizer, title="Mallory's secret")
    response = organizer_client.get(reverse("organizer-compare"))
    assert response.status_code == 200
    assert b"Short cut" in response.content and b"Mallory's secret" not in response.content
    assert "comparison" not in response.context


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"screenings": "one"}, "screening ids"),
        ({"screenings": "1.5"}, "screening ids"),
        ({"scale": "decibels", "screenings": "1"}, "scale must be one of"),
    ],
)
def test_a_bad_request_gets_a_400_that_says_why(organizer_client, query, message):
    response = organizer_client.get(reverse("organizer-compare"), query)
    assert response.status_code == 400 and message in response.context["error"]


def test_one_screening_or_too_many_are_refused(organizer_client, cuts, organizer):
    short = cuts[0]
    assert organizer_client.get(reverse("organizer-compare"), {"screenings": short.pk}).status_code == 400
    many = [ScreeningFactory(owner=organizer).pk for _ in range(7)]
    response = organizer_client.get(reverse("organizer-compare"), {"screenings": many})
    assert response.status_code == 400 and "between 2 and 6" in response.context["error"]


def test_another_organizers_screening_is_not_found(other_organizer_client, cuts):
    short, long, _ = cuts
    response = other_organizer_client.get(reverse("organizer-compare"), {"screenings": [short.pk, long.pk]})
    assert response.status_code == 404


def test_the_api_gives_the_same_comparison(api, cuts):
    short, long, other = cuts
    response = api.get("/api/comparison/", {"screenings": f"{short.pk},{long.pk}", "scale": "relative"})
    assert response.status_code == 200
    body = response.json()
    assert body["scale"] == "relative" and body["pool"] == 3
    assert body == json.loads(json.dumps(comparison([short, long], pool=[short, long, other], scale="relative")))


def test_the_api_refuses_bad_requests_and_other_organizers_screenings(api, other_api, cuts):
    short, long, _ = cuts
    assert api.get("/api/comparison/").status_code == 400
    refused = api.get("/api/comparison/", {"screenings": "x"})
    assert refused.status_code == 400 and "screening ids" in json.dumps(refused.json())
    assert api.get("/api/comparison/", {"screenings": f"{short.pk},{long.pk}", "scale": "x"}).status_code == 400
    assert other_api.get("/api/comparison/", {"screenings": f"{short.pk},{long.pk}"}).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login(client):
    response = client.get(reverse("organizer-compare"))
    assert response.status_code == 302 and "login" in response.url


def sample_reads(queries) -> list[str]:  # type: ignore[no-untyped-def]
    return [query["sql"] for query in queries if 'FROM "screenings_emotionsample"' in query["sql"]]


def test_the_pool_is_read_again_only_where_samples_or_exclusions_changed(cuts):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    short, long, other = cuts
    first = comparison([short], pool=[short, long, other])
    with CaptureQueriesContext(connection) as unchanged:
        again = comparison([short], pool=[short, long, other])
    assert again == first and sample_reads(unchanged.captured_queries) == []

    watched(other, [[0.1] * 4])  # a new viewer of the third screening: its mean 0.5 becomes 0.3
    with CaptureQueriesContext(connection) as one_changed:
        changed = comparison([short], pool=[short, long, other])
    [read] = sample_reads(one_changed.captured_queries)
    assert f'"screening_id" IN ({other.pk})' in read  # only the changed screening's samples
    # Among 0.7, 0.3 and 0.3 the short cut is still the highest; the long cut's values are unchanged.
    assert changed["screenings"][0]["norms"]["valence"]["among"] == 3
    assert changed["screenings"][0]["norms"]["valence"]["percentile"] == pytest.approx(500 / 6)
    after = comparison([other], pool=[short, long, other])["screenings"][0]
    assert after["metrics"]["valence"]["mean"] == pytest.approx(0.3) and after["metrics"]["viewers"] == 2

    other.participants.filter(pk=other.participants.order_by("pk").last().pk).update(excluded_from_reports=True)
    excluded = comparison([other], pool=[short, long, other])["screenings"][0]
    assert excluded["metrics"]["valence"]["mean"] == pytest.approx(0.5) and excluded["metrics"]["viewers"] == 1
