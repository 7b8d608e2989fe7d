"""A researcher's set-up in the admin: choices one per line, a stimulus kept across a form error, readable help."""

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screenings.models import Question, Screening
from screenings.services.demo import stimulus_video_write
from tests.factories import ScreeningFactory
from tests.screenings.admin_helpers import admin_url, screening_form

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:screenings_screening_add")
HELD = re.compile(r'name="held_stimulus" value="([^"]+)"')


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.mp4"
    stimulus_video_write(path, width=160, height=120)
    return path.read_bytes()


def with_question(data: dict, **fields: str) -> dict:
    data = {**data, "questions-TOTAL_FORMS": "1", "questions-INITIAL_FORMS": "0"}
    question = {"phase": "after", "kind": "text", "text": "Why?", "order": "0", "required": "on", **fields}
    data.update({f"questions-0-{name}": value for name, value in question.items()})
    return data


def test_choices_are_typed_one_per_line(organizer_client):
    form = with_question(screening_form(), kind="single", text="Again?", choices="Yes\r\n No \r\n\r\nMaybe\r\n")
    response = organizer_client.post(ADD_URL, form)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert Question.objects.get().choices == ["Yes", "No", "Maybe"]


def test_a_stored_question_shows_its_choices_one_per_line(organizer_client, screening):
    Question.objects.create(screening=screening, kind="single", text="Again?", choices=["Yes", "No"])
    page = organizer_client.get(admin_url(screening)).content.decode()
    assert re.search(r'<textarea name="questions-0-choices"[^>]*>\s*Yes\nNo</textarea>', page)


def test_a_one_line_choice_list_is_refused_with_the_models_message(organizer_client):
    form = with_question(screening_form(), kind="single", text="Again?", choices="Yes")
    response = organizer_client.post(ADD_URL, form)
    assert response.status_code == 200 and "needs at least two choices" in response.content.decode()


def test_the_uploaded_stimulus_is_kept_when_the_form_has_an_error(organizer_client, video):
    ScreeningFactory(slug="taken")
    upload = SimpleUploadedFile("trailer.mp4", video, content_type="video/mp4")
    first = organizer_client.post(ADD_URL, screening_form(slug="taken", stimulus=upload))
    page = first.content.decode()
    assert first.status_code == 200 and "trailer.mp4 is kept from your last try" in page
    token = HELD.search(page).group(1)
    second = organizer_client.post(ADD_URL, screening_form(slug="fresh", held_stimulus=token))
    assert second.status_code == 302
    screening = Screening.objects.get(slug="fresh")
    assert screening.stimulus.read() == video
    # The held copy is gone once the screening stored its own.
    folders = default_storage.listdir("stimuli/held")[0]
    assert all(not default_storage.listdir(f"stimuli/held/{folder}")[1] for folder in folders)


def test_a_tampered_held_token_gives_no_file(organizer_client):
    response = organizer_client.post(ADD_URL, screening_form(slug="fresh", held_stimulus="stimuli/other.mp4:forged"))
    assert response.status_code == 302
    assert not Screening.objects.get(slug="fresh").stimulus


def test_help_texts_show_their_angle_brackets(organizer_client):
    page = organizer_client.get(ADD_URL).content.decode()
    assert "/s/&lt;slug&gt;/join/" in page


def test_the_question_inline_loads_the_per_kind_script(organizer_client):
    page = organizer_client.get(ADD_URL).content.decode()
    assert "js/admin-question-kinds.js" in page and "question-kinds" in page


def test_the_face_found_threshold_is_a_percentage(organizer_client, screening):
    response = organizer_client.get(reverse("organizer-report", args=[screening.pk]), {"threshold": "80"})
    assert response.status_code == 200
    assert response.context["report"]["quality"]["threshold"] == pytest.approx(0.8)
    assert 'name="threshold" value="80"' in response.content.decode()
