"""The demo screening that `make run` loads: a short generated stimulus, questions, scenes and an organizer."""

from __future__ import annotations

import secrets
import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.files import File
from django.db import transaction

from screenings import services
from screenings.models import Participant, Screening

DEMO_SLUG = "demo-trailer"
DEMO_ORGANIZER = "organizer"
SCENES = (("Opening titles", (46, 91, 211)), ("The chase", (200, 70, 40)), ("Happy ending", (40, 160, 90)))
SCENE_SECONDS = 6
FRAMES_PER_SECOND = 24


def stimulus_video_write(path: Path, *, width: int = 640, height: int = 360) -> None:
    """Write a short H.264 MP4 with three coloured scenes and a running clock, as a stand-in trailer."""
    import av
    import cv2

    with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FRAMES_PER_SECOND)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, FRAMES_PER_SECOND)
        for index in range(len(SCENES) * SCENE_SECONDS * FRAMES_PER_SECOND):
            seconds = index / FRAMES_PER_SECOND
            label, colour = SCENES[int(seconds // SCENE_SECONDS)]
            image = np.full((height, width, 3), colour, dtype=np.uint8)
            phase = (seconds % SCENE_SECONDS) / SCENE_SECONDS
            cv2.circle(image, (int(40 + phase * (width - 80)), height // 2 + 60), 24, (255, 255, 255), -1)
            cv2.putText(image, label, (32, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.putText(
                image, f"{seconds:5.1f} s", (32, height - 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2
            )
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


DEMO_QUESTIONS: tuple[dict, ...] = (
    {
        "phase": "both",
        "kind": "likert5",
        "text": "How is your mood right now?",
        "low_label": "Very low",
        "high_label": "Very good",
    },
    {
        "phase": "before",
        "kind": "number",
        "text": "How many films did you see in a cinema in the last year?",
        "min_value": 0,
        "max_value": 365,
    },
    {
        "phase": "before",
        "kind": "multiple",
        "text": "Which genres do you enjoy?",
        "choices": ["Action", "Comedy", "Drama", "Horror", "Documentary"],
        "required": False,
    },
    {
        "phase": "after",
        "kind": "likert7",
        "text": "How much did you enjoy the trailer?",
        "low_label": "Not at all",
        "high_label": "Very much",
    },
    {"phase": "after", "kind": "single", "text": "Would you watch the whole film?", "choices": ["Yes", "Maybe", "No"]},
    {"phase": "after", "kind": "slider", "text": "How likely are you to recommend it to a friend (0-100)?"},
    {"phase": "after", "kind": "text", "text": "What stayed with you most?", "required": False},
)


def demo_organizer_ensure() -> tuple[AbstractUser, str]:
    """Create (or reset) the demo organizer with a fresh random password, returned for printing."""
    password = secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=DEMO_ORGANIZER, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(password)
    user.save()
    return user, password


@transaction.atomic
def demo_screening_load() -> tuple[Screening, AbstractUser, str, bool]:
    """Load the demo screening once; returns it, the organizer, their new password, and whether it was created."""
    organizer, password = demo_organizer_ensure()
    existing = Screening.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing, organizer, password, False
    screening = Screening(
        title="Demo trailer",
        slug=DEMO_SLUG,
        description="An 18-second stand-in trailer in three scenes, to try the participant journey end to end.",
        sampling_interval=Decimal("1"),
        consent_text=(
            "While you watch, your webcam takes a picture every second. A neural network reads your facial "
            "expression from each picture; the picture is then discarded and only the emotion reading is kept. "
            "Your answers and readings are used for this test screening only."
        ),
        owner=organizer,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-trailer.mp4"
        stimulus_video_write(path)
        with path.open("rb") as handle:
            screening.stimulus.save("demo-trailer.mp4", File(handle), save=False)
    services.screening_save(screening=screening)
    for order, definition in enumerate(DEMO_QUESTIONS):
        services.question_create(screening=screening, order=order, **definition)
    for index, (label, _) in enumerate(SCENES):
        services.scene_create(
            screening=screening, start=index * SCENE_SECONDS, end=(index + 1) * SCENE_SECONDS, label=label
        )
    services.screening_open(screening=screening)
    return screening, organizer, password, True


def demo_invite_link(screening: Screening) -> Participant:
    return services.invites_create(screening=screening, count=1, label="demo invite")[0]
