"""Factories for the study data model; every test builds its data through these."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from inference.labels import EMOTIONS
from screenings import services
from screenings.models import Answer, EmotionSample, Participant, Question, Scene, Screening


class OrganizerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"organizer{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def saved(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class ScreeningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screening
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Trailer test {n}")
    slug = factory.Sequence(lambda n: f"trailer-test-{n}")
    description = "A two-minute trailer."
    stimulus = factory.LazyFunction(lambda: ContentFile(b"\x00\x00\x00\x18ftypmp42" + bytes(2048), name="trailer.mp4"))
    stimulus_duration = 30.0
    status = Screening.Status.OPEN
    sampling_interval = Decimal("1")
    consent_text = "Your webcam will be used to read your facial expressions while you watch."
    owner = factory.SubFactory(OrganizerFactory)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    screening = factory.SubFactory(ScreeningFactory)
    phase = Question.Phase.AFTER
    kind = Question.Kind.TEXT
    text = factory.Sequence(lambda n: f"Question {n}?")
    order = factory.Sequence(lambda n: n)


class SceneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scene

    screening = factory.SubFactory(ScreeningFactory)
    start = 0.0
    end = 10.0
    label = "Opening"


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    screening = factory.SubFactory(ScreeningFactory)
    state = Participant.State.INVITED


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    participant = factory.SubFactory(ParticipantFactory)
    question = factory.SubFactory(QuestionFactory, screening=factory.SelfAttribute("..participant.screening"))
    phase = Question.Phase.AFTER
    value = "It was fun."


class EmotionSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmotionSample

    participant = factory.SubFactory(ParticipantFactory)
    screening = factory.SelfAttribute("participant.screening")
    media_time = factory.Sequence(float)
    captured_at = factory.LazyFunction(timezone.now)
    face_found = True
    face_x, face_y, face_width, face_height = 100, 80, 120, 120
    angry, disgust, fear, happy, sad, surprise, neutral = 0.05, 0.0, 0.05, 0.7, 0.05, 0.05, 0.1
    dominant_emotion = "happy"
    model_version = "test"

    @classmethod
    def _create(cls, model_class: type[EmotionSample], *args: Any, **kwargs: Any) -> EmotionSample:
        # Through the service that stores every sample, so the report totals count it as they would.
        participant = kwargs.pop("participant")
        if kwargs.pop("screening") != participant.screening:
            raise ValueError("a sample belongs to its participant's screening")
        probabilities = {emotion: kwargs.pop(emotion) for emotion in EMOTIONS}
        box = tuple(kwargs.pop(name) for name in ("face_x", "face_y", "face_width", "face_height"))
        face_found, dominant = kwargs.pop("face_found"), kwargs.pop("dominant_emotion")
        if face_found and dominant != max(EMOTIONS, key=probabilities.__getitem__):
            raise ValueError("dominant_emotion follows from the probabilities: set the probabilities instead")
        sample, _ = services.sample_record(
            participant=participant,
            media_time=kwargs.pop("media_time"),
            probabilities=probabilities if face_found else None,
            face_box=box if face_found else None,
            model_version=kwargs.pop("model_version"),
            captured_at=kwargs.pop("captured_at"),
        )
        if kwargs:
            raise TypeError(f"EmotionSampleFactory cannot set {sorted(kwargs)}")
        return sample
