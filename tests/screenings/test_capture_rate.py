"""The one frame rate limit (capture/rate.py), shared by the websocket and the HTTP fallback."""

import socket

import pytest
from django.core.cache import cache

from screenings.capture.protocol import CaptureLimits
from screenings.capture.rate import FrameRate, frame_allowed
from tests.factories import ParticipantFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def limits():
    return CaptureLimits.from_settings()


def test_a_burst_is_allowed_and_the_frame_after_it_refused(limits):
    participant = ParticipantFactory(screening=ScreeningFactory(sampling_interval="1"))
    burst = int(FrameRate.for_participant(participant, limits).burst)
    allowed = [frame_allowed(participant, limits, now=100.0) for _ in range(burst + 1)]
    assert allowed == [True] * burst + [False]


def test_the_bucket_refills_at_the_allowed_rate(limits):
    participant = ParticipantFactory(screening=ScreeningFactory(sampling_interval="1"))
    limit = FrameRate.for_participant(participant, limits)
    while frame_allowed(participant, limits, now=100.0):
        pass
    assert not frame_allowed(participant, limits, now=100.0 + 0.5 / limit.rate)
    assert frame_allowed(participant, limits, now=100.0 + 1.5 / limit.rate)


def test_each_participant_has_a_bucket_of_their_own(limits):
    screening = ScreeningFactory(sampling_interval="1")
    greedy, other = ParticipantFactory(screening=screening), ParticipantFactory(screening=screening)
    while frame_allowed(greedy, limits, now=100.0):
        pass
    assert frame_allowed(other, limits, now=100.0)


def test_a_slower_screening_allows_fewer_frames_a_second(limits):
    fast = FrameRate.for_participant(ParticipantFactory(screening=ScreeningFactory(sampling_interval="0.5")), limits)
    slow = FrameRate.for_participant(ParticipantFactory(screening=ScreeningFactory(sampling_interval="2")), limits)
    assert fast.rate == pytest.approx(4 * slow.rate)


def test_the_limit_holds_in_the_process_while_redis_cannot_be_reached(settings, limits):
    participant = ParticipantFactory(screening=ScreeningFactory(sampling_interval="1"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody_listens = probe.getsockname()[1]
    # The scale-out profile's cache, with its Redis down: every call is refused at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{nobody_listens}/0",
        }
    }
    burst = int(FrameRate.for_participant(participant, limits).burst)
    allowed = [frame_allowed(participant, limits, now=100.0) for _ in range(burst + 1)]
    assert allowed == [True] * burst + [False]
