"""Who the live view counts as connected: a recorded connection that was seen lately, so that the
connections of a server that crashed (never cleared) expire on their own."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inference import EMOTIONS
from screenings import selectors, services
from screenings.models import Participant
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db

State = Participant.State
PROBABILITIES = {emotion: 1 / len(EMOTIONS) for emotion in EMOTIONS}


@pytest.fixture
def watcher(screening):  # type: ignore[no-untyped-def]
    return ParticipantFactory(screening=screening, state=State.WATCHING, watch_started_at=timezone.now())


def connected(screening) -> bool:  # type: ignore[no-untyped-def]
    [row] = selectors.live_participants(screening=screening)
    return row["connected"]


def seen(participant: Participant, seconds_ago: float) -> None:
    Participant.objects.filter(pk=participant.pk).update(
        capture_seen_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def test_a_new_connection_counts_as_connected(screening, watcher):
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    assert connected(screening)


def test_a_connection_left_behind_by_a_crashed_server_expires(screening, watcher, settings):
    settings.CAPTURE_CONNECTION_TIMEOUT_SECONDS = 60
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    seen(watcher, 59)
    assert connected(screening)
    # The server died: nothing cleared the channel, and no frame has come since.
    seen(watcher, 61)
    assert not connected(screening)
    assert Participant.objects.get(pk=watcher.pk).capture_channel == "specific.abc"


def test_a_closed_connection_is_not_connected_however_recent(screening, watcher):
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    services.capture_disconnection_record(participant=watcher, channel_name="specific.abc")
    assert not connected(screening)


def test_a_connection_recorded_before_connections_were_timed_is_not_connected(screening, watcher):
    Participant.objects.filter(pk=watcher.pk).update(capture_channel="specific.abc", capture_seen_at=None)
    assert not connected(screening)


def test_a_stored_frame_keeps_a_quiet_connection_alive(screening, watcher, settings):
    settings.CAPTURE_CONNECTION_TIMEOUT_SECONDS = 60
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    seen(watcher, 50)
    services.captured_sample_record(participant=watcher, media_time=1.0, probabilities=PROBABILITIES)
    seen_at = Participant.objects.get(pk=watcher.pk).capture_seen_at
    assert timezone.now() - seen_at < timedelta(seconds=5)
    seen(watcher, 61 + 50)
    services.captured_sample_record(participant=watcher, media_time=2.0, probabilities=PROBABILITIES)
    assert connected(screening)


def test_frames_soon_after_one_another_write_the_time_once(screening, watcher):
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    seen(watcher, 30)
    with CaptureQueriesContext(connection) as queries:
        for media_time in (1.0, 2.0, 3.0):
            services.captured_sample_record(participant=watcher, media_time=media_time, probabilities=PROBABILITIES)
    writes = [
        query["sql"] for query in queries if query["sql"].startswith("UPDATE") and "capture_seen_at" in query["sql"]
    ]
    assert len(writes) == 1


def test_the_live_page_shows_an_expired_connection_as_not_connected(organizer_client, screening, watcher):
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    seen(watcher, 3600)
    [row] = organizer_client.get(reverse("organizer-live", args=[screening.pk])).context["live_state"]["participants"]
    assert row["connected"] is False


def test_another_organizer_sees_no_live_page_at_all(other_organizer_client, screening, watcher):
    services.capture_connection_record(participant=watcher, channel_name="specific.abc")
    assert other_organizer_client.get(reverse("organizer-live", args=[screening.pk])).status_code == 404
