"""Who reaches what in the admin: each organizer only their own and shared screenings, and what belongs to them."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from screenings.models import Answer, EmotionSample, Participant, Question, Scene, Screening
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    OrganizerFactory,
    ParticipantFactory,
    QuestionFactory,
    ScreeningFactory,
)
from tests.screenings.admin_helpers import admin_url, changelist_url, run_action, screening_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(screening):
    """One of everything belonging to ``organizer``, with data that must not show up for anyone else."""
    participant = ParticipantFactory(screening=screening, external_id="panel-secret")
    return {
        "screening": screening,
        "participant": participant,
        "answer": AnswerFactory(participant=participant, value="my secret opinion"),
        "sample": EmotionSampleFactory(participant=participant, model_version="secret-model"),
    }


class TestWhoSeesWhichScreenings:
    def test_an_organizer_lists_own_and_shared_screenings_but_not_others(self, organizer, organizer_client):
        ScreeningFactory(owner=organizer, title="Own trailer")
        ScreeningFactory(title="Shared trailer").collaborators.add(organizer)
        ScreeningFactory(title="Someone else's trailer")
        page = organizer_client.get(changelist_url(Screening)).content.decode()
        assert "Own trailer" in page and "Shared trailer" in page
        assert "Someone else" not in page

    def test_a_collaborator_can_edit_a_shared_screening(self, screening, other_organizer, other_organizer_client):
        screening.collaborators.add(other_organizer)
        form = screening_form(title="Renamed together", slug=screening.slug, collaborators=[other_organizer.pk])
        response = other_organizer_client.post(admin_url(screening), form)
        assert response.status_code == 302
        screening.refresh_from_db()
        assert screening.title == "Renamed together"

    def test_a_superuser_sees_every_organizers_screenings(self, client, screening, other_organizer):
        ScreeningFactory(owner=other_organizer)
        client.force_login(OrganizerFactory(username="root", is_superuser=True))
        assert client.get(changelist_url(Screening)).context["cl"].result_count == 2
        assert client.get(admin_url(screening)).status_code == 200

    def test_a_user_who_is_not_staff_cannot_enter(self, client, screening):
        client.force_login(OrganizerFactory(username="viewer", is_staff=False))
        response = client.get(changelist_url(Screening))
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


class TestSecondOrganizerIsRefused:
    @pytest.mark.parametrize("name", ["screening", "participant", "answer", "sample"])
    @pytest.mark.parametrize("view", ["change", "history", "delete"])
    def test_pages_of_another_organizers_objects_give_404_without_their_data(
        self, other_organizer_client, objects, name, view
    ):
        response = other_organizer_client.get(admin_url(objects[name], view))
        assert response.status_code == 404
        page = response.content.decode()
        assert objects["screening"].title not in page and "secret" not in page

    def test_a_change_post_to_another_organizers_screening_changes_nothing(self, other_organizer_client, screening):
        response = other_organizer_client.post(admin_url(screening), screening_form(title="Hijacked", slug="hijacked"))
        assert response.status_code == 404
        screening.refresh_from_db()
        assert screening.title != "Hijacked" and screening.slug != "hijacked"

    @pytest.mark.parametrize("model", [Participant, Answer, EmotionSample])
    def test_lists_hide_another_organizers_participants_answers_and_samples(
        self, other_organizer_client, objects, model
    ):
        response = other_organizer_client.get(changelist_url(model))
        assert response.context["cl"].result_count == 0
        assert "secret" not in response.content.decode()

    def test_filtering_by_another_organizers_screening_shows_nothing(self, other_organizer_client, objects):
        response = other_organizer_client.get(changelist_url(Participant), {"screening": objects["screening"].pk})
        assert "panel-secret" not in response.content.decode()

    @pytest.mark.parametrize("model", [Participant, EmotionSample])
    def test_the_screening_filter_offers_only_own_screenings(
        self, other_organizer, other_organizer_client, objects, model
    ):
        ScreeningFactory(owner=other_organizer, title="Mallory's own")
        page = other_organizer_client.get(changelist_url(model)).content.decode()
        assert "Mallory&#x27;s own" in page
        assert objects["screening"].title not in page

    def test_the_open_and_close_actions_leave_another_organizers_screenings_alone(
        self, organizer, other_organizer_client
    ):
        draft = ScreeningFactory(owner=organizer, status=Screening.Status.DRAFT)
        running = ScreeningFactory(owner=organizer, status=Screening.Status.OPEN)
        run_action(other_organizer_client, Screening, "open_screenings", [draft])
        run_action(other_organizer_client, Screening, "close_screenings", [running])
        draft.refresh_from_db()
        running.refresh_from_db()
        assert (draft.status, running.status) == (Screening.Status.DRAFT, Screening.Status.OPEN)

    def test_the_invite_action_creates_no_links_for_another_organizers_screening(
        self, other_organizer_client, screening
    ):
        response = run_action(other_organizer_client, Screening, "generate_invites", [screening], count="5")
        assert not response.get("Content-Type", "").startswith("text/csv")
        assert not screening.participants.exists()

    def test_the_erase_action_leaves_another_organizers_participants_alone(self, other_organizer_client, objects):
        run_action(other_organizer_client, Participant, "erase_data", [objects["participant"]], confirmed="yes")
        objects["participant"].refresh_from_db()
        assert objects["participant"].external_id == "panel-secret" and objects["participant"].erased_at is None
        assert Answer.objects.count() == 1 and EmotionSample.objects.count() == 1

    def test_autocomplete_offers_only_own_screenings(self, organizer_client, other_organizer_client, screening):
        query = {"app_label": "screenings", "model_name": "participant", "field_name": "screening", "term": ""}

        def offered(client):
            return [result["id"] for result in client.get(reverse("admin:autocomplete"), query).json()["results"]]

        assert offered(organizer_client) == [str(screening.pk)]
        assert offered(other_organizer_client) == []


@pytest.mark.parametrize(
    ("model", "admin_model", "field"),
    [
        (Question, Screening, "screening"),
        (Scene, Screening, "screening"),
        (Participant, Participant, "screening"),
        (Answer, Answer, "participant"),
        (Answer, Answer, "question"),
        (EmotionSample, EmotionSample, "participant"),
        (EmotionSample, EmotionSample, "screening"),
    ],
)
def test_foreign_key_choices_point_only_at_own_screenings(objects, other_organizer, model, admin_model, field):
    own = ScreeningFactory(owner=other_organizer)
    QuestionFactory(screening=own)
    ParticipantFactory(screening=own)
    request = RequestFactory().get("/")
    request.user = other_organizer
    model_admin = admin.site._registry[admin_model]
    if model is not admin_model:
        model_admin = next(inline for inline in model_admin.get_inline_instances(request) if inline.model is model)
    choices = model_admin.formfield_for_foreignkey(model._meta.get_field(field), request).queryset
    screenings = {choice.pk if isinstance(choice, Screening) else choice.screening_id for choice in choices}
    assert screenings == {own.pk}
