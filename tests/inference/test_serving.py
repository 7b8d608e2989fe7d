"""Live-capture serving: the shared batch and how many views it reads under load."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from inference import config as config_module
from inference import serving
from inference.faces import Box
from inference.labels import EMOTIONS
from inference.predictor import get_predictor
from inference.serving import FaceBatcher, Reading, read_emotion


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    predictor = get_predictor()
    assert predictor.views == 4, "these tests assume the default of four views"
    return predictor


@pytest.fixture(scope="module")
def happy_faces(fer_faces):  # type: ignore[no-untyped-def]
    return fer_faces.images[fer_faces.labels == EMOTIONS.index("happy")][:24].astype(np.float32)


def test_a_predictor_reads_any_number_of_views_up_to_its_own(predictor, happy_faces):
    assert predictor.view_counts == (1, 2, 4)
    for views in (1, 2, 4):
        probabilities = predictor.classify(happy_faces[:3], views=views)
        assert probabilities.shape == (3, 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert np.allclose(predictor.classify(happy_faces[:3]), predictor.classify(happy_faces[:3], views=4))
    assert not np.allclose(predictor.classify(happy_faces[:3], views=1), predictor.classify(happy_faces[:3], views=4))
    assert predictor.version_for(2) == predictor.version.removesuffix("4v") + "2v"
    with pytest.raises(ValueError, match="not 3"):
        predictor.classify(happy_faces[:1], views=3)


def test_a_two_view_predictor_cannot_be_asked_for_four():
    from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor

    two = EmotionPredictor(DEFAULT_MODEL_PATH, views=2)
    assert two.view_counts == (1, 2)
    with pytest.raises(ValueError, match="reads \\(1, 2\\) views, not 4"):
        two.classify(np.zeros((1, 48, 48, 1), dtype=np.float32), views=4)


def test_views_fit_the_budget_from_the_measured_cost(predictor):
    batcher = FaceBatcher(predictor, budget=0.05)
    assert batcher.views_for(40) == 4, "before any batch is measured, every view"
    batcher.cost_per_view = 0.005
    assert [batcher.views_for(faces) for faces in (1, 2, 3, 5, 6, 10, 11, 64)] == [4, 4, 2, 2, 1, 1, 1, 1]
    assert FaceBatcher(predictor, budget=0).views_for(64) == 4, "a budget of 0 always reads every view"


def test_the_cost_estimate_follows_the_batches_it_measures(predictor, happy_faces):
    batcher = FaceBatcher(predictor, budget=0.05)
    batcher._read(happy_faces[:8], 2)
    first = batcher.cost_per_view
    assert first is not None and first > 0
    batcher._measured(faces=10, views=1, seconds=1.0)
    assert batcher.cost_per_view == pytest.approx(first + 0.2 * (0.1 - first))


async def read_all(batcher: FaceBatcher, faces: np.ndarray) -> list[tuple[np.ndarray, int]]:
    return await asyncio.gather(*(batcher.classify(face) for face in faces))


def test_a_crowd_of_faces_is_read_with_fewer_views_and_a_few_with_every_view(predictor, happy_faces):
    batcher = FaceBatcher(predictor, budget=0.05, max_wait=0.05)
    batcher.cost_per_view = 0.01
    crowd = asyncio.run(read_all(batcher, happy_faces))
    assert {views for _, views in crowd} == {1}
    assert np.allclose(np.stack([row for row, _ in crowd]), predictor.classify(happy_faces, views=1), atol=1e-5)

    batcher = FaceBatcher(predictor, budget=0.05, max_wait=0.05)
    batcher.cost_per_view = 0.001
    few = asyncio.run(read_all(batcher, happy_faces[:3]))
    assert {views for _, views in few} == {4}
    assert np.allclose(np.stack([row for row, _ in few]), predictor.classify(happy_faces[:3], views=4), atol=1e-5)


def test_a_reading_names_the_views_it_was_read_with(predictor, astronaut_jpeg):
    reading = asyncio.run(read_emotion(astronaut_jpeg, max_side=4096))
    assert isinstance(reading, Reading) and reading.face is not None
    assert reading.model_version in {predictor.version_for(views) for views in predictor.view_counts}
    assert reading.face.emotion == "happy"


def test_a_frame_without_a_face_is_read_by_the_full_model(predictor):
    blank = np.full((480, 640), 128, dtype=np.uint8)
    from tests.inference.conftest import encode

    reading = asyncio.run(read_emotion(encode(blank), max_side=4096))
    assert reading == Reading(None, predictor.version)


def test_live_capture_batches_within_the_configured_budget(monkeypatch, predictor):
    configured = dataclasses.replace(config_module.serving_config(), batch_budget_ms=7.0)
    monkeypatch.setattr(config_module, "_configured", configured)

    async def live_budget() -> float:
        return (await serving._batcher()).budget

    assert asyncio.run(live_budget()) == pytest.approx(0.007)


def test_a_face_track_keeps_the_last_box_through_a_few_frames_without_a_face():
    track = serving.FaceTrack(misses=3)
    assert track.box is None
    seen, later = Box(100, 80, 200, 200), Box(110, 90, 190, 190)
    track.update(seen)
    track.update(None)
    track.update(None)
    assert track.box == seen  # two misses: still searched where the face was
    track.update(None)
    assert track.box is None  # the third forgets it: the whole frame is searched
    track.update(later)
    track.update(None)
    assert track.box == later  # a face found again starts the count afresh


def test_a_face_track_refuses_fewer_than_one_miss():
    with pytest.raises(ValueError, match="misses must be at least 1"):
        serving.FaceTrack(misses=0)
