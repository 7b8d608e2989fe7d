"""The participant journey through the pages, as a browser without JavaScript would walk it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from screenings.models import Answer, Participant, Question, Screening
from tests.factories import ParticipantFactory, QuestionFactory, ScreeningFactory
from tests.media_clips import astronaut_rgb, jpeg_bytes

pytestmark = pytest.mark.django_db
State = Participant.State


@pytest.fixture
def study(screening):
    QuestionFactory(screening=screening, phase=Question.Phase.BEFORE, kind=Question.Kind.LIKERT5, text="Mood?")
    QuestionFactory(screening=screening, phase=Question.Phase.BOTH, kind=Question.Kind.SLIDER, text="Excited?")
    QuestionFactory(screening=screening, phase=Question.Phase.AFTER, kind=Question.Kind.TEXT, text="Liked?")
    return screening


def url(name, participant):
    return reverse(name, args=[participant.token])


def answers_for(participant, phase, **by_text):
    questions = [q for q in participant.screening.questions.all() if q.asked_in(phase)]
    return {f"q{q.pk}": by_text[q.text.rstrip("?").lower()] for q in questions}


def test_a_participant_walks_the_whole_journey(client, study):
    participant = ParticipantFactory(screening=study)
    response = client.get(url("participant-entry", participant))
    assert response.url == url("participant-consent", participant)
    response = client.post(url("participant-consent", participant), {"choice": "accept"}, HTTP_USER_AGENT="Firefox")
    assert response.url == url("participant-before", participant)
    response = client.post(
        url("participant-before", participant), answers_for(participant, "before", mood=4, excited=70)
    )
    assert response.url == url("participant-camera", participant)
    face = SimpleUploadedFile("preview.jpg", jpeg_bytes(astronaut_rgb()), content_type="image/jpeg")
    assert client.post(url("participant-camera-check", participant), {"image": face}).json()["face"] is True
    response = client.post(url("participant-camera", participant))
    assert response.url == url("participant-watch", participant)
    assert client.get(url("participant-watch", participant)).status_code == 200
    response = client.post(url("participant-watch-finished", participant), {"position": "30"})
    assert response.json() == {"next": url("participant-after", participant)}
    response = client.post(
        url("participant-after", participant), answers_for(participant, "after", excited=90, liked="All")
    )
    assert response.url == url("participant-done", participant)
    assert "Thank you" in client.get(url("participant-done", participant)).content.decode()

    participant.refresh_from_db()
    assert participant.state == State.COMPLETED
    assert participant.user_agent == "Firefox"
    assert all([participant.consented_at, participant.before_done_at, participant.watched_at, participant.completed_at])
    stored = {(a.question.text, a.phase): a.value for a in Answer.objects.filter(participant=participant)}
    assert stored == {
        ("Mood?", "before"): 4,
        ("Excited?", "before"): 70,
        ("Excited?", "after"): 90,
        ("Liked?", "after"): "All",
    }


@pytest.mark.parametrize(
    ("state", "page"),
    [
        (State.INVITED, "participant-before"),
        (State.INVITED, "participant-camera"),
        (State.CONSENTED, "participant-consent"),
        (State.CONSENTED, "participant-camera"),
        (State.BEFORE_DONE, "participant-before"),
        (State.WATCHING, "participant-after"),
        (State.WATCHED, "participant-camera"),
        (State.COMPLETED, "participant-after"),
    ],
)
def test_it_sends_a_participant_who_skips_or_repeats_a_phase_back_to_their_own(client, screening, state, page):
    participant = ParticipantFactory(screening=screening, state=state)
    response = client.post(url(page, participant), {"choice": "accept"})
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.state == state


def test_a_reload_resumes_where_the_participant_left_off(client, screening):
    participant = ParticipantFactory(screening=screening, state=State.BEFORE_DONE)
    assert client.get(url("participant-entry", participant)).url == url("participant-camera", participant)
    assert client.get(url("participant-consent", participant)).url == url("participant-camera", participant)


def test_a_questionnaire_with_a_bad_answer_stores_nothing_and_shows_the_error_beside_the_field(client, study):
    participant = ParticipantFactory(screening=study, state=State.CONSENTED)
    response = client.post(
        url("participant-before", participant), answers_for(participant, "before", mood=9, excited=5)
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Answer.objects.exists()
    participant.refresh_from_db()
    assert participant.state == State.CONSENTED


def test_a_required_question_left_empty_is_refused(client, study):
    participant = ParticipantFactory(screening=study, state=State.CONSENTED)
    response = client.post(url("participant-before", participant), {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not Answer.objects.exists()


def test_a_slider_starts_as_not_answered_yet_and_stays_so_when_the_page_comes_back(client, study):
    participant = ParticipantFactory(screening=study, state=State.CONSENTED)
    slider = study.questions.get(text="Excited?")
    marker = f'name="q{slider.pk}_untouched" value="1" checked'
    assert marker in client.get(url("participant-before", participant)).content.decode()
    mood = study.questions.get(text="Mood?")
    untouched = {f"q{mood.pk}": "3", f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1"}
    response = client.post(url("participant-before", participant), untouched)
    assert response.status_code == 400
    assert "please move the slider" in response.content.decode()
    assert marker in response.content.decode()
    assert not Answer.objects.exists()


def test_an_optional_slider_never_moved_stores_no_answer(client, screening):
    slider = QuestionFactory(screening=screening, phase="before", kind=Question.Kind.SLIDER, required=False)
    participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
    response = client.post(
        url("participant-before", participant), {f"q{slider.pk}": "50", f"q{slider.pk}_untouched": "1"}
    )
    assert response.url == url("participant-camera", participant)
    assert Answer.objects.get().value is None


def test_prefer_not_to_say_is_offered_only_where_the_organizer_allows_it(client, screening):
    allowed = QuestionFactory(screening=screening, phase="before", kind=Question.Kind.SLIDER, allow_prefer_not=True)
    other = QuestionFactory(screening=screening, phase="before", kind=Question.Kind.SLIDER)
    participant = ParticipantFactory(screening=screening, state=State.CONSENTED)
    page = client.get(url("participant-before", participant)).content.decode()
    assert f'name="q{allowed.pk}_prefer_not"' in page and f'name="q{other.pk}_prefer_not"' not in page
    answers = {f"q{allowed.pk}": "50", f"q{allowed.pk}_untouched": "1", f"q{allowed.pk}_prefer_not": "1"}
    response = client.post(url("participant-before", participant), {**answers, f"q{other.pk}": "10"})
    assert response.url == url("participant-camera", participant)
    stored = {answer.question_id: answer.value for answer in Answer.objects.all()}
    assert stored == {allowed.pk: {"prefer_not_to_say": True}, other.pk: 10}


def test_declining_ends_politely_and_is_recorded(client, screening):
    participant = ParticipantFactory(screening=screening)
    response = client.post(url("participant-consent", participant), {"choice": "decline"}, follow=True)
    assert "You chose not to take part" in response.content.decode()
    participant.refresh_from_db()
    assert participant.state == State.DECLINED and participant.declined_at is not None
    assert client.get(url("participant-before", participant)).url == url("participant-ended", participant)


def test_a_consent_without_a_choice_is_refused_with_a_message(client, screening):
    participant = ParticipantFactory(screening=screening)
    response = client.post(url("participant-consent", participant), {"choice": "maybe"})
    assert response.status_code == 400
    assert "Please choose" in response.content.decode()


def test_withdrawing_erases_what_was_given_and_ends_the_journey(client, study):
    participant = ParticipantFactory(screening=study, state=State.CONSENTED)
    client.post(url("participant-before", participant), answers_for(participant, "before", mood=3, excited=20))
    response = client.post(url("participant-withdraw", participant), follow=True)
    assert "have been deleted" in response.content.decode()
    participant.refresh_from_db()
    assert participant.state == State.WITHDRAWN
    assert not participant.answers.exists()


@pytest.mark.parametrize("status", [Screening.Status.DRAFT, Screening.Status.CLOSED])
def test_a_screening_that_is_not_open_shows_a_friendly_page(client, status):
    participant = ParticipantFactory(screening=ScreeningFactory(status=status))
    for name in ("participant-entry", "participant-consent", "participant-watch"):
        response = client.get(url(name, participant))
        assert response.status_code == 403
        assert "This screening" in response.content.decode()
    response = client.get(reverse("screening-join", args=[participant.screening.slug]))
    assert response.status_code == 403


def test_an_unknown_token_gives_the_not_found_page(client, db):
    response = client.get("/p/not-a-real-token/")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


class TestWatching:
    @pytest.fixture
    def watcher(self, screening):
        return ParticipantFactory(screening=screening, state=State.WATCHING)

    def test_playback_must_reach_the_end_before_the_participant_goes_on(self, client, watcher):
        response = client.post(url("participant-watch-finished", watcher), {"position": "3"})
        assert response.status_code == 400
        assert response.json()["error"] == "not_finished"
        watcher.refresh_from_db()
        assert watcher.state == State.WATCHING

    @pytest.mark.parametrize("position", ["", "abc", "-1", "nan", "inf", "1e9"])
    def test_bad_positions_are_refused_with_a_reason(self, client, watcher, position):
        response = client.post(url("participant-watch-position", watcher), {"position": position})
        assert response.status_code == 400
        assert response.json()["error"] == "bad_position"

    def test_malformed_json_is_refused_with_a_reason(self, client, watcher):
        response = client.post(url("participant-watch-position", watcher), "{", content_type="application/json")
        assert response.status_code == 400
        assert "JSON" in response.json()["detail"]

    def test_the_position_is_remembered_for_a_returning_participant(self, client, watcher):
        response = client.post(url("participant-watch-position", watcher), {"position": 12.5}, "application/json")
        assert response.status_code == 200
        watcher.refresh_from_db()
        assert watcher.watch_position == 12.5
        assert '"resumeAt": 12.5' in client.get(url("participant-watch", watcher)).content.decode()

    def test_finishing_twice_answers_with_the_next_step_and_changes_nothing(self, client, watcher):
        client.post(url("participant-watch-finished", watcher), {"position": "30"})
        response = client.post(
            url("participant-watch-finished", watcher), {"position": "30"}, HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 409
        assert response.json()["next"] == url("participant-after", watcher)


class TestStimulus:
    def test_it_serves_byte_ranges_so_the_player_can_seek(self, client, screening):
        watcher = ParticipantFactory(screening=screening, state=State.WATCHING)
        whole = b"".join(client.get(url("participant-stimulus", watcher)).streaming_content)
        response = client.get(url("participant-stimulus", watcher), HTTP_RANGE="bytes=100-199")
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert b"".join(response.streaming_content) == whole[100:200]
        tail = client.get(url("participant-stimulus", watcher), HTTP_RANGE="bytes=-10")
        assert b"".join(tail.streaming_content) == whole[-10:]

    def test_an_unsatisfiable_range_gets_416(self, client, screening):
        watcher = ParticipantFactory(screening=screening, state=State.WATCHING)
        response = client.get(url("participant-stimulus", watcher), HTTP_RANGE="bytes=999999-")
        assert response.status_code == 416

    def test_a_participant_who_has_not_reached_watching_gets_no_stimulus(self, client, screening):
        invited = ParticipantFactory(screening=screening, state=State.INVITED)
        assert client.get(url("participant-stimulus", invited)).status_code == 404


class TestOpenLink:
    def join_url(self, screening, pid=""):
        return reverse("screening-join", args=[screening.slug]) + (f"?pid={pid}" if pid else "")

    def test_joining_creates_a_participant_and_keeps_the_panel_id(self, client, screening):
        assert client.get(self.join_url(screening, "P-17")).status_code == 200
        response = client.post(self.join_url(screening), {"pid": "P-17"})
        participant = Participant.objects.get()
        assert response.url == url("participant-entry", participant)
        assert participant.external_id == "P-17" and participant.source == Participant.Source.OPEN_LINK

    def test_a_returning_panel_id_resumes_the_same_participant(self, client, screening):
        first = client.post(self.join_url(screening), {"pid": "P-1"}).url
        second = client.get(self.join_url(screening, "P-1")).url
        assert first == second
        assert Participant.objects.count() == 1

    def test_the_quota_refuses_joins_once_the_seats_are_taken(self, client, screening):
        screening.participant_quota = 1
        screening.save()
        ParticipantFactory(screening=screening, state=State.COMPLETED)
        response = client.post(self.join_url(screening))
        assert "all the participants it needs" in response.content.decode()
        assert Participant.objects.count() == 1

    def test_the_quota_is_checked_again_at_consent(self, client, screening):
        screening.participant_quota = 1
        screening.save()
        waiting = ParticipantFactory(screening=screening, source=Participant.Source.OPEN_LINK)
        ParticipantFactory(screening=screening, state=State.CONSENTED)
        response = client.post(url("participant-consent", waiting), {"choice": "accept"})
        assert "all the participants it needs" in response.content.decode()
        waiting.refresh_from_db()
        assert waiting.state == State.INVITED

    def test_the_completion_redirect_carries_the_panel_id(self, client, screening):
        screening.completion_redirect_url = "https://panel.example.com/done?id={pid}"
        screening.save()
        participant = ParticipantFactory(screening=screening, state=State.AFTER_DONE, external_id="a b")
        response = client.get(url("participant-done", participant))
        assert response.url == "https://panel.example.com/done?id=a%20b"

    def test_an_unknown_screening_gives_404(self, client, db):
        assert client.get("/s/no-such-screening/join/").status_code == 404

    def test_opening_the_link_again_in_the_same_browser_resumes_the_same_participant(self, client, screening):
        first = client.post(self.join_url(screening)).url
        assert client.get(self.join_url(screening)).url == first
        assert client.post(self.join_url(screening)).url == first
        assert Participant.objects.count() == 1

    def test_another_browser_is_another_participant(self, client, screening):
        client.post(self.join_url(screening))
        Client().post(self.join_url(screening))
        assert Participant.objects.count() == 2

    def test_the_browser_is_remembered_in_a_signed_http_only_cookie_for_this_screening_only(self, client, screening):
        response = client.post(self.join_url(screening))
        cookie = response.cookies["participant"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert cookie["path"] == self.join_url(screening)
        assert cookie.value != Participant.objects.get().token, "signed, not the bare token"

    @pytest.mark.parametrize("state", [State.WITHDRAWN, State.DECLINED])
    def test_a_participant_who_left_does_not_resume(self, client, screening, state):
        client.post(self.join_url(screening))
        Participant.objects.update(state=state)
        response = client.get(self.join_url(screening))
        assert response.status_code == 200, "the landing page again"
        client.post(self.join_url(screening))
        assert Participant.objects.count() == 2

    def test_an_erased_participant_does_not_resume(self, client, screening):
        client.post(self.join_url(screening))
        Participant.objects.update(erased_at="2026-01-01T00:00Z")
        assert client.get(self.join_url(screening)).status_code == 200

    def test_another_screenings_cookie_does_not_resume(self, client, screening):
        other = ScreeningFactory(owner=screening.owner)
        client.post(self.join_url(other))
        # The browser keeps the cookie to its path; one sent anyway (copied across) is not this screening's.
        client.cookies["participant"]["path"] = "/"
        assert client.get(self.join_url(screening)).status_code == 200
        client.post(self.join_url(screening))
        assert screening.participants.count() == 1 and other.participants.count() == 1

    def test_a_tampered_cookie_is_ignored(self, client, screening):
        victim = ParticipantFactory(screening=screening, source=Participant.Source.OPEN_LINK)
        client.cookies["participant"] = victim.token
        assert client.get(self.join_url(screening)).status_code == 200
        response = client.post(self.join_url(screening))
        assert response.url != url("participant-entry", victim)
        assert Participant.objects.count() == 2

    def test_a_panel_id_decides_over_the_browser(self, client, screening):
        client.post(self.join_url(screening), {"pid": "P-1"})
        client.post(self.join_url(screening), {"pid": "P-2"})
        assert sorted(Participant.objects.values_list("external_id", flat=True)) == ["P-1", "P-2"]

    def test_too_many_new_participants_from_one_address_get_a_plain_please_wait_page(self, settings, screening):
        settings.OPEN_LINK_JOINS_PER_MINUTE = 3
        for _ in range(3):
            assert Client().post(self.join_url(screening)).status_code == 302
        response = Client().post(self.join_url(screening))
        assert response.status_code == 429
        assert "Please wait a minute" in response.content.decode()
        assert Participant.objects.count() == 3
        elsewhere = Client(REMOTE_ADDR="203.0.113.9").post(self.join_url(screening))
        assert elsewhere.status_code == 302, "another address is not held up"

    def test_a_returning_participant_is_not_held_up_by_the_limit(self, client, settings, screening):
        settings.OPEN_LINK_JOINS_PER_MINUTE = 1
        first = client.post(self.join_url(screening), {"pid": "P-1"}).url
        assert client.post(self.join_url(screening)).url == first
        assert client.get(self.join_url(screening, "P-1")).url == first
