"""The OpenAPI schema of the organizer API and the pages that show it: for organizers only."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import OrganizerFactory
from tests.screenings.policy_helpers import directives

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/screenings/",
    "/api/screenings/{id}/",
    "/api/screenings/{id}/open/",
    "/api/screenings/{id}/close/",
    "/api/screenings/{id}/stimulus/",
    "/api/screenings/{screening_pk}/questions/",
    "/api/screenings/{screening_pk}/questions/{id}/",
    "/api/screenings/{screening_pk}/scenes/",
    "/api/screenings/{screening_pk}/scenes/{id}/",
    "/api/screenings/{screening_pk}/segments/",
    "/api/screenings/{screening_pk}/segments/{id}/",
    "/api/screenings/{screening_pk}/report/",
    "/api/screenings/{screening_pk}/participants/",
    "/api/screenings/{screening_pk}/participants/{id}/",
    "/api/screenings/{screening_pk}/participants/{id}/erase/",
    "/api/screenings/{screening_pk}/answers/",
    "/api/screenings/{screening_pk}/answers/{id}/",
    "/api/comparison/",
]


@pytest.fixture
def schema(api) -> dict:
    return api.get("/api/schema/", {"format": "json"}).json()


def test_the_schema_is_served_to_an_organizer_with_every_path(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(PATHS) <= set(paths)


def test_the_schema_is_served_to_a_token_too(organizer):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=organizer).key}")
    assert client.get("/api/schema/").status_code == 200


def test_the_schema_needs_an_organizers_login(client):
    assert client.get("/api/schema/", {"format": "json"}).status_code == 401
    client.force_login(OrganizerFactory(username="plain", is_staff=False))
    assert client.get("/api/schema/", {"format": "json"}).status_code == 403


def test_every_operation_documents_its_error_answers(schema):
    paths = schema["paths"]
    screening = paths["/api/screenings/{id}/"]
    assert {"400", "401", "403", "404", "409", "429"} <= set(screening["patch"]["responses"])
    assert {"401", "403", "404", "429"} <= set(screening["get"]["responses"])
    assert "400" not in screening["get"]["responses"]
    assert {"400", "404"} <= set(paths["/api/screenings/{screening_pk}/participants/"]["post"]["responses"])
    assert {"400", "404"} <= set(paths["/api/screenings/{screening_pk}/answers/"]["get"]["responses"])
    # A page past the last one is a 404 too.
    assert "404" in paths["/api/screenings/"]["get"]["responses"]
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["required"] == ["detail"]
    assert "additionalProperties" in components["ValidationErrors"]


def test_an_error_the_view_documented_gets_its_body_and_keeps_its_description(schema):
    refused = schema["paths"]["/api/analyses/images/"]["post"]["responses"]["400"]
    assert refused["description"] == "A field is invalid or a size limit is exceeded."
    assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ValidationErrors"}


def test_the_stimulus_is_uploaded_as_a_file_and_read_back_as_an_address(schema):
    read = schema["components"]["schemas"]["Screening"]["properties"]["stimulus"]
    written = schema["components"]["schemas"]["PatchedScreeningRequest"]["properties"]["stimulus"]
    assert (read["format"], written["format"]) == ("uri", "binary")
    assert "pattern" not in read and "pattern" not in written
    assert "video track" in read["description"]


def test_the_schema_describes_the_invite_request_and_the_answer_filters(schema):
    invite = schema["paths"]["/api/screenings/{screening_pk}/participants/"]["post"]
    assert invite["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
    answers = schema["paths"]["/api/screenings/{screening_pk}/answers/"]["get"]
    assert {"phase", "participant"} <= {parameter["name"] for parameter in answers["parameters"]}
    assert schema["components"]["schemas"]["InviteRequestRequest"]["required"] == ["count"]
    assert schema["components"]["schemas"]["InviteRequestRequest"]["properties"]["count"]["maximum"] == 1000


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    # --fail-on-warn turns any warning or error of drf-spectacular into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/screenings/{screening_pk}/answers/" in (tmp_path / "schema.yaml").read_text()


def test_the_swagger_ui_is_served_to_an_organizer_without_an_inline_script(organizer_client):
    response = organizer_client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"<script>" not in response.content
    script = organizer_client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in script.content


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_relax_only_their_styles(organizer_client, page):
    policy = directives(organizer_client.get(page))
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def test_the_redoc_page_is_served_to_an_organizer(organizer_client):
    response = organizer_client.get("/api/redoc/")
    assert response.status_code == 200 and b"redoc" in response.content
    # Nothing from other hosts: the policy would block it anyway.
    assert b"fonts.googleapis.com" not in response.content


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_send_anyone_else_to_the_login(client, page):
    response = client.get(page)
    assert response.status_code == 302 and "/admin/login/" in response.url
