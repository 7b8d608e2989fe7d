"""The shipped emotion model: it loads once, and reads clear expressions correctly."""

import numpy as np
import pytest

from inference.labels import EMOTIONS
from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor, get_predictor


@pytest.fixture(scope="module")
def predictor() -> EmotionPredictor:
    return get_predictor()


def test_the_shipped_model_is_in_the_repository_and_loads_once_per_process(predictor):
    assert predictor.model_path == DEFAULT_MODEL_PATH and DEFAULT_MODEL_PATH.exists()
    assert get_predictor() is predictor
    assert predictor.version


@pytest.mark.parametrize("emotion", ["happy", "surprise"])
def test_clear_happy_and_surprised_faces_are_read_correctly(predictor, fer_faces, emotion):
    """The first 30 PublicTest faces of each class, not chosen by the model: most must come out right."""
    label = EMOTIONS.index(emotion)
    faces = fer_faces.images[fer_faces.labels == label][:30]
    predicted = predictor.classify(faces).argmax(axis=1)
    assert len(faces) >= 20
    assert np.mean(predicted == label) >= 0.7


def test_a_smiling_face_in_a_real_photograph_is_happy(predictor, astronaut_jpeg):
    [[face]] = predictor.predict([astronaut_jpeg])
    assert face.emotion == "happy"
    assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-4)


def test_a_batch_across_images_keeps_each_images_faces_apart(predictor, astronaut_jpeg):
    blank = np.full((240, 320), 127, dtype=np.uint8)
    results = predictor.predict([astronaut_jpeg, blank, astronaut_jpeg])
    assert [len(faces) for faces in results] == [1, 0, 1]
    assert results[0][0].probabilities == pytest.approx(results[2][0].probabilities, abs=1e-5)
