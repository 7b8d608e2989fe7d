"""The report's metrics against values computed by hand on three viewers (docs/metrics.md has the formulas)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from django.urls import reverse

from screenings.models import Answer, EmotionSample, Participant, Question, Scene
from screenings.reports import metrics
from screenings.reports.builder import screening_report
from screenings.selectors.metrics import viewer_bin_means, viewer_scene_means
from tests.factories import EmotionSampleFactory, ParticipantFactory, QuestionFactory

pytestmark = pytest.mark.django_db


def t_quantile_two_degrees(p: float) -> float:
    """Student's t quantile for two degrees of freedom, in closed form: (2p - 1) / sqrt(2p(1 - p))."""
    return (2 * p - 1) / math.sqrt(2 * p * (1 - p))


# (happy, sad) per viewer at media times 0, 1, 2, 3; None: no face. Neutral takes the rest.
FACES = {
    "A": [(0.6, 0.1), (0.8, 0.0), (0.2, 0.3), (0.5, 0.0)],
    "B": [(0.4, 0.2), (0.6, 0.1), (0.1, 0.5), (0.3, 0.1)],
    "C": [(0.7, 0.0), (0.9, 0.0), (0.3, 0.2), None],
}


@pytest.fixture
def viewers(screening):  # type: ignore[no-untyped-def]
    participants = {}
    for label, faces in FACES.items():
        participant = participants[label] = ParticipantFactory(screening=screening, label=label)
        for media_time, face in enumerate(faces):
            if face is None:
                EmotionSampleFactory(participant=participant, media_time=float(media_time), face_found=False)
                continue
            happy, sad = face
            neutral = round(1 - happy - sad, 6)
            probabilities = {"angry": 0, "disgust": 0, "fear": 0, "happy": happy, "sad": sad, "surprise": 0}
            dominant = max({**probabilities, "neutral": neutral}.items(), key=lambda item: item[1])[0]
            EmotionSampleFactory(participant=participant, media_time=float(media_time), neutral=neutral,
                                 dominant_emotion=dominant, **probabilities)  # fmt: skip
    # B's face at 3 s is turned away from the screen.
    EmotionSample.objects.filter(participant=participants["B"], media_time=3.0).update(looking_at_screen=False)
    return participants


def interval(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.mean(values)
    half = t_quantile_two_degrees(0.975) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def test_valence_per_bin_is_the_mean_over_viewers_with_its_t_interval(screening, viewers):
    rows = metrics.bin_metrics(viewer_bin_means(screening, bin_slots=1), bin_seconds=1.0)
    assert [row["start"] for row in rows] == [0.0, 1.0, 2.0, 3.0]
    first = rows[0]
    # Valence is happy minus the negative emotions: A 0.5, B 0.2, C 0.7.
    mean, lower, upper = interval([0.5, 0.2, 0.7])
    assert first["valence"]["mean"] == pytest.approx(mean)
    assert first["valence"]["lower"] == pytest.approx(lower) and first["valence"]["upper"] == pytest.approx(upper)
    assert first["valence"]["viewers"] == 3 and first["viewers"] == 3
    # Expressiveness is one minus neutral: A 0.7, B 0.6, C 0.7.
    assert first["expressiveness"]["mean"] == pytest.approx((0.7 + 0.6 + 0.7) / 3)


def test_a_viewer_without_a_face_counts_for_attention_but_not_for_valence(screening, viewers):
    last = metrics.bin_metrics(viewer_bin_means(screening, bin_slots=1), bin_seconds=1.0)[3]
    assert last["viewers"] == 3
    assert last["valence"]["viewers"] == 2 and last["valence"]["mean"] == pytest.approx((0.5 + 0.2) / 2)
    # A faces the screen, B's face is turned away, C's face was not found.
    assert last["attention"]["mean"] == pytest.approx(1 / 3) and last["attention"]["viewers"] == 3


def test_a_longer_bin_takes_each_viewers_mean_first(screening, viewers):
    rows = metrics.bin_metrics(viewer_bin_means(screening, bin_slots=2), bin_seconds=2.0)
    assert [row["start"] for row in rows] == [0.0, 2.0]
    # A: happy (0.6 + 0.8) / 2 minus sad (0.1 + 0) / 2; B: 0.5 - 0.15; C: 0.8 - 0.
    assert rows[0]["valence"]["mean"] == pytest.approx((0.65 + 0.35 + 0.8) / 3)


def test_smoothing_averages_each_viewers_curve_before_the_audience(screening, viewers):
    rows = metrics.bin_metrics(viewer_bin_means(screening, bin_slots=1), bin_seconds=1.0, smoothing=3)
    # At 3 s C has no face: C's smoothed value there stays empty, A's is the mean of 2 s and 3 s.
    assert rows[3]["valence"]["viewers"] == 2
    assert rows[3]["valence"]["mean"] == pytest.approx(((-0.1 + 0.5) / 2 + (-0.4 + 0.2) / 2) / 2)


def test_scene_metrics_take_each_viewers_mean_over_the_scene(screening, viewers):
    scenes = [Scene.objects.create(screening=screening, start=0, end=2, label="Opening"),
              Scene.objects.create(screening=screening, start=2, end=4, label="Ending"),
              Scene.objects.create(screening=screening, start=10, end=12, label="Unseen")]  # fmt: skip
    rows = metrics.scene_metrics(viewer_scene_means(screening, scenes), scenes)
    assert [row["scene"] for row in rows] == ["Opening", "Ending", "Unseen"]
    mean, lower, upper = interval([0.65, 0.35, 0.8])
    assert rows[0]["valence"]["mean"] == pytest.approx(mean)
    assert (rows[0]["valence"]["lower"], rows[0]["valence"]["upper"]) == (pytest.approx(lower), pytest.approx(upper))
    assert rows[2]["viewers"] == 0 and rows[2]["valence"]["mean"] is None


def test_synchrony_correlates_each_viewer_with_the_mean_of_the_others(screening, viewers):
    result = metrics.synchrony(viewer_bin_means(screening, bin_slots=1))["curves"]["valence"]
    a, b, c = [0.5, 0.8, -0.1, 0.5], [0.2, 0.5, -0.4, 0.2], [0.7, 0.9, 0.1]
    expected = {
        # At 3 s only B is there to compare A with, and only A to compare B with.
        viewers["A"].pk: statistics.correlation(a, [(b[i] + c[i]) / 2 for i in range(3)] + [b[3]]),
        viewers["B"].pk: statistics.correlation(b, [(a[i] + c[i]) / 2 for i in range(3)] + [a[3]]),
        # C has no face at 3 s: three bins in common.
        viewers["C"].pk: statistics.correlation(c, [(a[i] + b[i]) / 2 for i in range(3)]),
    }
    assert {row["participant"]: row["r"] for row in result["per_viewer"]} == pytest.approx(expected)
    assert {row["participant"]: row["bins"] for row in result["per_viewer"]}[viewers["C"].pk] == 3
    assert result["mean"] == pytest.approx(math.tanh(statistics.mean(math.atanh(r) for r in expected.values())))
    assert result["viewers"] == 3


def test_a_viewer_with_too_few_bins_in_common_is_left_out_of_synchrony(screening, viewers):
    EmotionSample.objects.filter(participant=viewers["C"], media_time__gte=1).delete()
    result = metrics.synchrony(viewer_bin_means(screening, bin_slots=1))["curves"]["valence"]
    assert viewers["C"].pk not in {row["participant"] for row in result["per_viewer"]}


def test_the_paired_change_has_its_interval_and_a_two_sided_t_test():
    result = metrics.paired_change([1.0, 2.0, 4.0])
    mean, lower, upper = interval([1.0, 2.0, 4.0])
    assert (result["mean"], result["lower"], result["upper"]) == pytest.approx((mean, lower, upper))
    t = mean / (statistics.stdev([1.0, 2.0, 4.0]) / math.sqrt(3))
    assert result["t"] == pytest.approx(t) and result["pairs"] == 3
    # With two degrees of freedom the t distribution's tail has a closed form: p = 1 - t / sqrt(2 + t²).
    assert result["p"] == pytest.approx(1 - t / math.sqrt(2 + t * t))


def test_a_paired_change_that_never_varies_has_no_test():
    result = metrics.paired_change([2.0, 2.0])
    assert result["mean"] == 2.0 and result["t"] is None and result["p"] is None
    assert metrics.paired_change([]) is None
    assert metrics.paired_change([1.0])["lower"] is None


def test_the_report_carries_the_metrics_at_its_bin_and_the_synchrony(screening, viewers):
    report = screening_report(screening, bin_seconds=2.0)
    assert report["metrics"]["confidence"] == 0.95
    assert [row["start"] for row in report["metrics"]["bins"]] == [0.0, 2.0]
    assert report["metrics"]["bins"][0]["valence"]["mean"] == pytest.approx((0.65 + 0.35 + 0.8) / 3)
    # Two bins of 2 s are fewer than synchrony needs: no viewer has a correlation.
    assert report["synchrony"]["curves"]["valence"]["viewers"] == 0


def test_an_excluded_viewer_is_left_out_of_the_metrics(screening, viewers):
    Participant.objects.filter(pk=viewers["C"].pk).update(excluded_from_reports=True)
    first = screening_report(screening)["metrics"]["bins"][0]
    assert first["viewers"] == 2 and first["valence"]["mean"] == pytest.approx((0.5 + 0.2) / 2)
    per_viewer = screening_report(screening)["synchrony"]["curves"]["valence"]["per_viewer"]
    assert {row["label"] for row in per_viewer} == {str(viewers["A"]), str(viewers["B"])}


def test_a_number_asked_before_and_after_gets_a_paired_test_in_the_report(screening, viewers):
    question = QuestionFactory(screening=screening, kind=Question.Kind.NUMBER, phase=Question.Phase.BOTH)
    for label, (before, after) in {"A": (3, 4), "B": (2, 4), "C": (1, 5)}.items():
        for phase, value in (("before", before), ("after", after)):
            Answer.objects.create(participant=viewers[label], question=question, phase=phase, value=value)
    [item] = [item for item in screening_report(screening)["before_after"] if item["question_id"] == question.pk]
    assert item["paired_test"]["pairs"] == 3
    assert item["paired_test"]["mean"] == pytest.approx(7 / 3) and item["paired_test"]["p"] is not None


def test_smoothing_wider_than_the_curve_averages_what_there_is():
    curve = np.array([[1.0, np.nan, 3.0], [2.0, 4.0, np.nan]])
    smoothed = metrics.smooth_rows(curve, 9)
    np.testing.assert_allclose(smoothed, [[2.0, np.nan, 2.0], [3.0, 3.0, np.nan]])


def test_the_report_page_shows_the_metrics_scenes_and_paired_tests(organizer_client, screening, viewers):
    Scene.objects.create(screening=screening, start=0, end=2, label="Opening")
    question = QuestionFactory(screening=screening, kind=Question.Kind.NUMBER, phase=Question.Phase.BOTH, text="Score?")
    for label, (before, after) in {"A": (3, 4), "B": (2, 4)}.items():
        for phase, value in (("before", before), ("after", after)):
            Answer.objects.create(participant=viewers[label], question=question, phase=phase, value=value)
    response = organizer_client.get(reverse("organizer-report", args=[screening.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="report-metrics"' in page and "js/report-metrics.js" in page
    [scene] = response.context["scene_metrics"]
    assert scene["scene"] == "Opening"
    assert scene["estimates"][0]["mean"] == pytest.approx((0.65 + 0.35 + 0.8) / 3)
    [paired] = response.context["paired_tests"]
    assert paired["question"] == "Score?" and paired["test"]["mean"] == pytest.approx(1.5)
    assert 'id="paired-tests"' in page and 'id="synchrony"' in page


def test_another_organizer_gets_404_for_the_report_with_its_metrics(other_organizer_client, screening, viewers):
    assert other_organizer_client.get(reverse("organizer-report", args=[screening.pk])).status_code == 404
    assert other_organizer_client.get(f"/api/screenings/{screening.pk}/report/").status_code == 404


def test_top_moments_are_ranked_by_the_viewers_rise_above_their_own_baseline(screening, viewers):
    moments = metrics.top_moments(viewer_bin_means(screening, bin_slots=1), bin_seconds=1.0, window_bins=1, count=2)
    # Happy per viewer at 0-3 s: A 0.6 0.8 0.2 0.5, B 0.4 0.6 0.1 0.3, C 0.7 0.9 0.3 (no face at 3 s).
    baselines = {"A": 2.1 / 4, "B": 1.4 / 4, "C": 1.9 / 3}
    rises = [0.8 - baselines["A"], 0.6 - baselines["B"], 0.9 - baselines["C"]]
    first, second = moments["happy"]
    assert (first["start"], first["end"]) == (1.0, 2.0) and second["start"] == 0.0
    mean, lower, upper = interval(rises)
    assert (first["lift"], first["lower"], first["upper"]) == pytest.approx((mean, lower, upper))
    assert first["mean"] == pytest.approx((0.8 + 0.6 + 0.9) / 3) and first["viewers"] == 3
    assert first["baseline"] == pytest.approx(statistics.mean(baselines.values()))
    # One-sided, two degrees of freedom: p = (1 - t / sqrt(2 + t²)) / 2; four windows were tried.
    t = mean / (statistics.stdev(rises) / math.sqrt(3))
    assert first["p"] == pytest.approx((1 - t / math.sqrt(2 + t * t)) / 2)
    assert first["p_adjusted"] == pytest.approx(min(1.0, 4 * first["p"]))


def test_the_reports_top_moments_are_windows_of_three_bins_that_do_not_overlap(screening, viewers):
    moments = screening_report(screening)["top_moments"]["happy"]
    assert [(moment["start"], moment["end"]) for moment in moments] == [(0.0, 3.0)]


def test_the_metrics_of_an_unchanged_screening_come_from_the_cache(screening, viewers, monkeypatch):
    from screenings.reports import builder

    computed = []
    compute = builder._metrics
    monkeypatch.setattr(builder, "_metrics", lambda *args, **kwargs: computed.append(1) or compute(*args, **kwargs))
    first = screening_report(screening)
    assert screening_report(screening)["metrics"] == first["metrics"] and len(computed) == 1
    screening_report(screening, bin_seconds=2.0)
    assert len(computed) == 2


def test_a_new_sample_an_exclusion_or_a_new_label_is_never_hidden_by_the_cache(screening, viewers):
    before = screening_report(screening)["metrics"]["bins"]
    EmotionSampleFactory(participant=viewers["C"], media_time=4.0)
    assert [row["start"] for row in screening_report(screening)["metrics"]["bins"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(before) == 4
    Participant.objects.filter(pk=viewers["C"].pk).update(excluded_from_reports=True)
    assert screening_report(screening)["metrics"]["bins"][0]["viewers"] == 2
    Participant.objects.filter(pk=viewers["A"].pk).update(label="Alice")
    per_viewer = screening_report(screening)["synchrony"]["curves"]["valence"]["per_viewer"]
    assert any(row["label"].endswith("Alice") for row in per_viewer)


def test_changes_that_differ_only_by_rounding_are_the_same_and_have_no_test():
    changes = [2.4 - 2.3, 5.2 - 5.1, 7.9 - 7.8]  # 0.1 each, give or take 1e-15
    assert len(set(changes)) > 1
    result = metrics.paired_change(changes)
    assert result["t"] is None and result["p"] is None and result["mean"] == pytest.approx(0.1)


def test_a_scene_inside_another_gets_its_own_samples(screening, viewers):
    scenes = [Scene.objects.create(screening=screening, start=0, end=4, label="Act"),
              Scene.objects.create(screening=screening, start=1, end=2, label="Punchline")]  # fmt: skip
    act, punchline = metrics.scene_metrics(viewer_scene_means(screening, scenes), scenes)
    assert act["viewers"] == 3 and punchline["viewers"] == 3
    # Valence at 1 s: A 0.8, B 0.5, C 0.9.
    assert punchline["valence"]["mean"] == pytest.approx((0.8 + 0.5 + 0.9) / 3)


def test_figures_computed_while_an_exclusion_changed_are_not_kept(screening, viewers, monkeypatch):
    from screenings.reports import builder

    compute = builder._metrics

    def excluding_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        # C is excluded after the key was made and before the samples are read.
        Participant.objects.filter(pk=viewers["C"].pk).update(excluded_from_reports=True)
        return compute(*args, **kwargs)

    monkeypatch.setattr(builder, "_metrics", excluding_meanwhile)
    screening_report(screening)
    Participant.objects.filter(pk=viewers["C"].pk).update(excluded_from_reports=False)
    monkeypatch.setattr(builder, "_metrics", compute)
    # Back as it was when the key was made: the figures (without C) were not kept under it.
    assert screening_report(screening)["metrics"]["bins"][0]["viewers"] == 3
    computed = []
    monkeypatch.setattr(builder, "_metrics", lambda *a, **k: computed.append(1) or compute(*a, **k))
    screening_report(screening)
    assert computed == []  # the second computation, made undisturbed, was kept
