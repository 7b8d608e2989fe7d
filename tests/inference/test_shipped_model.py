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


def test_the_four_views_are_the_face_its_mirror_and_both_zoomed_in():
    from inference.preprocessing import face_views

    face = np.zeros((1, 48, 48, 1), dtype=np.float32)
    face[0, 10, 5, 0] = 255  # a bright dot left of centre
    original, mirrored, zoomed, zoomed_mirrored = np.asarray(face_views(face, 4))
    assert original[10, 5, 0] == 255 and mirrored[10, 42, 0] == 255
    assert zoomed.shape == (48, 48, 1) and np.argmax(zoomed[:, :, 0].max(axis=0)) < 5
    assert np.allclose(zoomed_mirrored, zoomed[:, ::-1])


def test_every_number_of_views_gives_probabilities_that_agree_on_a_clear_face(predictor, fer_faces):
    happy = fer_faces.images[fer_faces.labels == EMOTIONS.index("happy")][:8]
    for views in (1, 2):
        probabilities = EmotionPredictor(DEFAULT_MODEL_PATH, views=views).classify(happy)
        assert probabilities.shape == (8, 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
        assert np.mean(probabilities.argmax(axis=1) == predictor.classify(happy).argmax(axis=1)) >= 0.75


def test_a_predictor_refuses_an_unsupported_number_of_views():
    with pytest.raises(ValueError, match="views must be one of"):
        EmotionPredictor(DEFAULT_MODEL_PATH, views=3)
