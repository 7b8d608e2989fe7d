"""The organizers' live view: the page, and its websocket fed by the capture consumer."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from screenings import selectors
from screenings.capture import consumers
from screenings.capture.live import live_group
from screenings.capture.routing import websocket_urlpatterns
from screenings.models import Participant
from tests.factories import EmotionSampleFactory, OrganizerFactory, ParticipantFactory, ScreeningFactory
from tests.screenings.capture_helpers import face_jpeg, frame_message

State = Participant.State


@pytest.mark.django_db
class TestLivePage:
    def test_the_organizer_sees_participants_and_the_running_mean(self, organizer_client, screening):
        watcher = ParticipantFactory(screening=screening, state=State.WATCHING, watch_started_at="2026-01-01T00:00Z")
        EmotionSampleFactory(participant=watcher, media_time=1.0, happy=0.7)
        EmotionSampleFactory(participant=watcher, media_time=2.0, happy=0.5, sad=0.6, dominant_emotion="sad")
        response = organizer_client.get(reverse("organizer-live", args=[screening.pk]))
        assert response.status_code == 200
        state = response.context["live_state"]
        [row] = state["participants"]
        assert row["samples"] == 2 and row["media_time"] == 2.0 and row["emotion"] == "sad"
        assert [bin["media_time"] for bin in state["timeline"]] == [1.0, 2.0]
        assert state["timeline"][0]["happy"] == pytest.approx(0.7)

    def test_another_organizer_gets_404(self, other_organizer_client, screening):
        assert other_organizer_client.get(reverse("organizer-live", args=[screening.pk])).status_code == 404

    def test_a_collaborator_may_watch(self, screening):
        from django.test import Client

        collaborator = OrganizerFactory(username="colin")
        screening.collaborators.add(collaborator)
        client = Client()
        client.force_login(collaborator)
        assert client.get(reverse("organizer-live", args=[screening.pk])).status_code == 200

    def test_an_anonymous_visitor_is_sent_to_the_login(self, client, screening):
        response = client.get(reverse("organizer-live", args=[screening.pk]))
        assert response.status_code == 302 and "login" in response.url


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
class TestLiveSocket:
    application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))

    async def live_socket(self, user, screening_id: int) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(self.application, f"/ws/live/{screening_id}/")
        communicator.scope["user"] = user
        await communicator.connect()
        return communicator

    async def test_the_organizer_hears_connections_and_samples_as_they_happen(self):
        organizer = await database_sync_to_async(OrganizerFactory)(username="olga")
        screening = await database_sync_to_async(ScreeningFactory)(owner=organizer)
        watcher = await database_sync_to_async(ParticipantFactory)(screening=screening, state=State.WATCHING)
        live = await self.live_socket(organizer, screening.pk)
        capture = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/capture/{watcher.token}/")
        await capture.connect()
        connected = json.loads(await live.receive_from(timeout=10))
        assert connected["event"] == "connected" and connected["participant"] == watcher.pk
        await capture.send_to(text_data=json.dumps(frame_message(1, 2.0)))
        await capture.receive_from(timeout=30)
        sample = json.loads(await live.receive_from(timeout=10))
        assert sample["event"] == "sample" and sample["media_time"] == 2.0 and sample["face"] is True
        await capture.disconnect()
        assert json.loads(await live.receive_from(timeout=10))["event"] == "disconnected"
        await live.disconnect()

    async def test_a_frame_sent_again_reaches_the_live_view_once_and_the_samples_column_counts_stored_samples(self):
        organizer = await database_sync_to_async(OrganizerFactory)(username="olga")
        screening = await database_sync_to_async(ScreeningFactory)(owner=organizer)
        watcher = await database_sync_to_async(ParticipantFactory)(
            screening=screening, state=State.WATCHING, watch_started_at="2026-01-01T00:00Z"
        )
        live = await self.live_socket(organizer, screening.pk)
        capture = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/capture/{watcher.token}/")
        await capture.connect()
        assert json.loads(await live.receive_from(timeout=10))["event"] == "connected"
        # The second frame is the first sent again, as the page re-sends unacknowledged frames after reconnecting.
        for seq, media_time in [(0, 2.0), (1, 2.0), (2, 3.0)]:
            await capture.send_to(text_data=json.dumps(frame_message(seq, media_time)))
            assert json.loads(await capture.receive_from(timeout=30))["type"] == "ack"
        samples = []
        while not samples or samples[-1] != 3.0:
            event = json.loads(await live.receive_from(timeout=10))
            if event["event"] == "sample":
                samples.append(event["media_time"])
        assert samples == [2.0, 3.0]
        [row] = await database_sync_to_async(selectors.live_participants)(screening=screening)
        assert row["samples"] == 2
        await capture.disconnect()
        await live.disconnect()

    async def test_a_frame_sent_over_http_reaches_the_live_view_once(self):
        organizer = await database_sync_to_async(OrganizerFactory)(username="olga")
        screening = await database_sync_to_async(ScreeningFactory)(owner=organizer)
        watcher = await database_sync_to_async(ParticipantFactory)(screening=screening, state=State.WATCHING)
        live = await self.live_socket(organizer, screening.pk)

        def post(seq: int) -> dict:
            url = reverse("capture-frame", args=[watcher.token])
            image = SimpleUploadedFile("frame.jpg", face_jpeg(), content_type="image/jpeg")
            return Client().post(url, {"seq": seq, "media_time": "2.0", "image": image}).json()

        # The second is the first sent again: stored once, so told once.
        for seq in (0, 1):
            assert (await sync_to_async(post)(seq))["type"] == "ack"
        sample = json.loads(await live.receive_from(timeout=10))
        assert sample["event"] == "sample" and sample["participant"] == watcher.pk
        assert sample["media_time"] == 2.0 and sample["face"] is True and sample["label"] == str(watcher)
        assert await live.receive_nothing(timeout=0.5)
        await live.disconnect()

    async def test_another_organizer_is_closed_with_4404(self):
        owner = await database_sync_to_async(OrganizerFactory)(username="owen")
        stranger = await database_sync_to_async(OrganizerFactory)(username="mallory")
        screening = await database_sync_to_async(ScreeningFactory)(owner=owner)
        live = await self.live_socket(stranger, screening.pk)
        output = await live.receive_output(timeout=10)
        assert output["type"] == "websocket.close" and output["code"] == 4404

    async def test_a_live_view_whose_group_the_channel_layer_forgot_hears_its_screening_again(
        self, monkeypatch, settings
    ):
        monkeypatch.setattr(consumers.LiveViewConsumer, "rejoin_seconds", 0.05)
        # The in-memory layer, whose memberships the test can take away (tests/deploy/ restarts a real Redis).
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        organizer = await database_sync_to_async(OrganizerFactory)(username="olga")
        screening = await database_sync_to_async(ScreeningFactory)(owner=organizer)
        live = await self.live_socket(organizer, screening.pk)
        layer = get_channel_layer()
        while live_group(screening.pk) not in layer.groups:  # it joins once it knows the organizer may
            await asyncio.sleep(0.01)
        # What a Redis restarted empty does to every group membership, while the socket stays open.
        layer.groups.clear()
        event = {"event": "ended", "participant": 7, "label": "#7"}
        for _ in range(50):
            await layer.group_send(live_group(screening.pk), {"type": "live.events", "events": [event]})
            if not await live.receive_nothing(timeout=0.1):
                break
        assert json.loads(await live.receive_from(timeout=1)) == event
        await live.disconnect()
