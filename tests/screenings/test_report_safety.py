"""What organizers and participants type reaches every report as inert text: no PDF markup, no mathtext, no formulas."""

import io
import re

import matplotlib.text
import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from screenings import services
from screenings.models import EmotionSample, Participant, Question
from screenings.reports import charts
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    ParticipantFactory,
    QuestionFactory,
    SceneFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db
MATH = "$a^^b$"
# A size no chart has, so the image is recognisable if it was embedded.
PLANTED_SIZE = (37, 23)


def url(screening, name, *args):
    return reverse(name, args=[screening.pk, *args])


def pdf_of(client, screening):
    response = client.get(url(screening, "organizer-download", "pdf"))
    assert response.status_code == 200
    return PdfReader(io.BytesIO(response.content))


def pdf_text(reader) -> str:
    """The PDF's text with line breaks and spaces removed, so a wrapped title still reads whole."""
    return re.sub(r"\s", "", "".join(page.extract_text() for page in reader.pages))


def image_sizes(reader) -> list[tuple[int, int]]:
    return [image.image.size for page in reader.pages for image in page.images]


@pytest.fixture
def planted_image(tmp_path):
    """An image the server can read, as another organizer's kept frame would be."""
    path = tmp_path / "planted.jpg"
    Image.new("RGB", PLANTED_SIZE, "red").save(path)
    return path


class TestPdfMarkup:
    def test_an_image_tag_in_the_title_is_printed_not_embedded(self, organizer, organizer_client, planted_image):
        title = f'<img src="{planted_image}"/>'
        screening = ScreeningFactory(owner=organizer, title=title)
        reader = pdf_of(organizer_client, screening)
        assert re.sub(r"\s", "", title) in pdf_text(reader)
        assert PLANTED_SIZE not in image_sizes(reader)
        plain = pdf_of(organizer_client, ScreeningFactory(owner=organizer))
        assert len(image_sizes(reader)) == len(image_sizes(plain))

    @pytest.mark.parametrize("title", ["<b>", '<img src="/no/such/file.jpg"/>', "Tom & Jerry </para>", "<font>x"])
    def test_a_malformed_or_missing_file_title_still_gives_the_pdf(self, organizer, organizer_client, title):
        reader = pdf_of(organizer_client, ScreeningFactory(owner=organizer, title=title))
        assert re.sub(r"\s", "", title) in pdf_text(reader)

    def test_the_second_organizer_gets_404_for_the_pdf(self, organizer, other_organizer_client, planted_image):
        screening = ScreeningFactory(owner=organizer, title=f'<img src="{planted_image}"/>')
        assert other_organizer_client.get(url(screening, "organizer-download", "pdf")).status_code == 404


class TestKeptFrameNames:
    def kept(self, participant, media_time: float) -> EmotionSample:
        sample = EmotionSampleFactory(participant=participant, media_time=media_time)
        return services.sample_frame_keep(sample=sample, content=ContentFile(b"\xff\xd8\xff\xd9"))

    def test_a_kept_frame_name_holds_a_random_token(self, screening):
        participant = ParticipantFactory(screening=screening)
        first, second = self.kept(participant, 1.0), self.kept(participant, 2.0)
        prefix = f"frames/{screening.pk}/{participant.pk}/"
        for sample in (first, second):
            assert sample.frame.name.startswith(prefix)
            assert re.fullmatch(r"\d+\.\d{3}-[A-Za-z0-9_-]{22,}\.jpg", sample.frame.name.removeprefix(prefix))
            assert EmotionSample.objects.get(pk=sample.pk).frame.read() == b"\xff\xd8\xff\xd9"
        token = re.compile(r"-([A-Za-z0-9_-]+)\.jpg$")
        assert token.search(first.frame.name)[1] != token.search(second.frame.name)[1]
        assert not default_storage.exists(f"frames/frames/{screening.pk}/{participant.pk}/000001.000.jpg")

    def test_a_frame_kept_under_the_old_name_still_reads(self, screening):
        sample = EmotionSampleFactory(participant=ParticipantFactory(screening=screening), media_time=1.0)
        old_name = f"frames/frames/{screening.pk}/{sample.participant_id}/000001.000.jpg"
        stored = default_storage.save(old_name, ContentFile(b"old frame"))
        EmotionSample.objects.filter(pk=sample.pk).update(frame=stored)
        assert EmotionSample.objects.get(pk=sample.pk).frame.read() == b"old frame"


@pytest.fixture
def mathy(organizer):
    """A screening where a panel id, answers, a scene label and a question's text all read as mathtext."""
    screening = ScreeningFactory(owner=organizer, title=MATH, stimulus_duration=4.0)
    SceneFactory(screening=screening, start=0, end=2, label=MATH)
    why = QuestionFactory(screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.TEXT, text=MATH)
    pick = QuestionFactory(screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.SINGLE,
                           text=f"Pick {MATH}", choices=[MATH, "plain"])  # fmt: skip
    person = ParticipantFactory(
        screening=screening, state=Participant.State.COMPLETED, external_id=MATH, watch_started_at="2026-01-01T00:00Z"
    )
    EmotionSampleFactory(participant=person, media_time=0.0)
    EmotionSampleFactory(participant=person, media_time=1.0)
    AnswerFactory(participant=person, question=why, phase="after", value=MATH)
    AnswerFactory(participant=person, question=pick, phase="after", value=MATH)
    return screening


def chart_urls(screening) -> list[str]:
    # The free-text question has no chart: its answers are listed.
    pick = screening.questions.get(kind=Question.Kind.SINGLE)
    person = screening.participants.get()
    return [
        url(screening, "organizer-chart", "scenes"),
        url(screening, "organizer-chart", f"question-{pick.pk}"),
        url(screening, "organizer-chart", f"answer-{pick.pk}"),
        url(screening, "organizer-participant-chart", person.pk),
    ]


class TestChartText:
    def test_every_chart_with_mathtext_lookalikes_is_a_png(self, organizer_client, mathy):
        for chart_url in chart_urls(mathy):
            response = organizer_client.get(chart_url)
            assert response.status_code == 200, chart_url
            assert response.content.startswith(b"\x89PNG")

    def test_the_pdf_and_workbook_with_mathtext_lookalikes_download(self, organizer_client, mathy):
        assert MATH in "".join(page.extract_text() for page in pdf_of(organizer_client, mathy).pages)
        response = organizer_client.get(url(mathy, "organizer-download", "xlsx"))
        assert response.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook["summary"]["B2"].value == MATH

    def test_the_text_is_drawn_as_typed(self, organizer_client, mathy, monkeypatch):
        drawn: list[str] = []
        draw = charts._png

        def recording(figure):
            for text in figure.findobj(matplotlib.text.Text):
                shown, is_math = text._preprocess_math(text.get_text())
                assert is_math is False, text.get_text()
                drawn.append(shown)
            return draw(figure)

        monkeypatch.setattr(charts, "_png", recording)
        for chart_url in chart_urls(mathy):
            assert organizer_client.get(chart_url).status_code == 200
        assert drawn.count(MATH) >= 3  # the scene, the choice on the answers' axis, the answer chart's tick
        assert f"Pick {MATH}" in drawn and any(
            text.endswith(f"{MATH}): emotion probability against time") for text in drawn
        )

    def test_an_unknown_emotion_for_the_answer_chart_is_refused(self, organizer_client, mathy):
        pick = mathy.questions.get(kind=Question.Kind.SINGLE)
        response = organizer_client.get(url(mathy, "organizer-chart", f"answer-{pick.pk}") + "?emotion=joy")
        assert response.status_code == 400

    def test_the_second_organizer_gets_404_for_every_chart(self, other_organizer_client, mathy):
        for chart_url in chart_urls(mathy):
            assert other_organizer_client.get(chart_url).status_code == 404, chart_url


class TestWorkbookFormulas:
    @pytest.mark.parametrize("typed", ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tTab", "\rReturn"])
    def test_organizer_text_that_looks_like_a_formula_is_text(self, organizer, organizer_client, typed):
        screening = ScreeningFactory(owner=organizer, title=typed, stimulus_duration=4.0)
        SceneFactory(screening=screening, start=0, end=2, label=typed)
        question = QuestionFactory(screening=screening, kind=Question.Kind.TEXT, text=typed)
        person = ParticipantFactory(screening=screening, state=Participant.State.COMPLETED)
        AnswerFactory(participant=person, question=question, phase="after", value="fine")
        response = organizer_client.get(url(screening, "organizer-download", "xlsx"))
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
        # XML reads a carriage return back as a line feed; what matters is the apostrophe before it.
        shown = "'" + typed.replace("\r", "\n")
        assert workbook["summary"]["B2"].value == shown
        assert workbook["scenes"]["A2"].value == shown
        assert workbook["answers"]["E2"].value == shown

    def test_the_second_organizer_gets_404_for_the_workbook(self, organizer, other_organizer_client):
        screening = ScreeningFactory(owner=organizer, title="=1+1")
        assert other_organizer_client.get(url(screening, "organizer-download", "xlsx")).status_code == 404


class TestWorkbookControlCharacters:
    def test_text_with_control_characters_is_shown_with_the_replacement_character(self, organizer, organizer_client):
        screening = ScreeningFactory(owner=organizer, title="Cut\x07 A", stimulus_duration=4.0)
        question = QuestionFactory(screening=screening, kind=Question.Kind.TEXT, text="Why?")
        person = ParticipantFactory(screening=screening, state=Participant.State.COMPLETED, external_id="p\x1b1")
        AnswerFactory(participant=person, question=question, phase="after", value="bell\x07 and tab\tkept")
        EmotionSampleFactory(participant=person, media_time=1.0)
        response = organizer_client.get(url(screening, "organizer-download", "xlsx"))
        assert response.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook["summary"]["B2"].value == "Cut\ufffd A"
        answer = next(row for row in workbook["answers"].iter_rows(min_row=2, values_only=True))
        assert answer[2] == "p\ufffd1" and answer[5] == "bell\ufffd and tab\tkept"
        sample = next(row for row in workbook["samples"].iter_rows(min_row=2, values_only=True))
        assert sample[2] == "p\ufffd1"
        # The CSV keeps the text exactly.
        csv_text = b"".join(organizer_client.get(url(screening, "organizer-download", "samples-csv")).streaming_content)
        assert b"p\x1b1" in csv_text
