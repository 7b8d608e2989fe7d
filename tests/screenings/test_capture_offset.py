"""Each participant's capture offset: where in every sampling slot their watch page grabs its frame."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from screenings.models import Participant
from screenings.rules.slots import capture_offset, slot_of
from tests.factories import ParticipantFactory
from tests.screenings.test_client_config import page_config

WIDTHS = [0.5, 1.0, 2.0, 5.0]


def tokens(count: int) -> list[str]:
    """Link tokens as the site makes them (43 URL-safe characters), the same ones every run."""
    rng = random.Random(17)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return ["".join(rng.choice(alphabet) for _ in range(43)) for _ in range(count)]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_offset_keeps_the_sample_in_its_slot(width):
    for token in tokens(2000):
        offset = capture_offset(token, width)
        assert 0 <= offset < width
        assert offset == round(offset, 3), "whole milliseconds, the unit samples are matched by"
        for slot in (0, 1, 17, 7199):
            assert slot_of(round(slot * width + offset, 3), width) == slot


def test_a_crowd_is_spread_evenly_over_the_slot():
    offsets = [capture_offset(token, 1.0) for token in tokens(4000)]
    tenths = [sum(1 for offset in offsets if tenth / 10 <= offset < (tenth + 1) / 10) for tenth in range(10)]
    # 400 expected in each tenth; a share off by a third would be a burst.
    assert all(300 < count < 500 for count in tenths), tenths


def test_a_participant_keeps_their_offset_and_two_participants_differ():
    first, second = tokens(2)
    assert capture_offset(first, 1.0) == capture_offset(first, 1.0)
    assert capture_offset(first, 1.0) != capture_offset(second, 1.0)


@pytest.mark.django_db
def test_the_watch_page_is_told_its_participants_offset(client, screening):
    watcher = ParticipantFactory(screening=screening, state=Participant.State.WATCHING)
    other = ParticipantFactory(screening=screening, state=Participant.State.WATCHING)
    html = client.get(reverse("participant-watch", args=[watcher.token])).content.decode()
    config = page_config(html, "watch-config")
    assert config["captureOffset"] == capture_offset(watcher.token, 1.0)
    other_html = client.get(reverse("participant-watch", args=[other.token])).content.decode()
    assert page_config(other_html, "watch-config")["captureOffset"] == capture_offset(other.token, 1.0)
