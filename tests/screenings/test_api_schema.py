"""The OpenAPI schema of the organizer API and the pages that show it."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/screenings/",
    "/api/screenings/{id}/",
    "/api/screenings/{id}/open/",
    "/api/screenings/{id}/close/",
    "/api/screenings/{screening_pk}/questions/",
    "/api/screenings/{screening_pk}/questions/{id}/",
    "/api/screenings/{screening_pk}/scenes/",
    "/api/screenings/{screening_pk}/scenes/{id}/",
    "/api/screenings/{screening_pk}/participants/",
    "/api/screenings/{screening_pk}/participants/{id}/",
    "/api/screenings/{screening_pk}/participants/{id}/erase/",
    "/api/screenings/{screening_pk}/answers/",
    "/api/screenings/{screening_pk}/answers/{id}/",
]


def test_the_schema_is_served_with_every_path(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(PATHS) <= set(paths)


def test_the_schema_describes_the_invite_request_and_the_answer_filters(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    invite = schema["paths"]["/api/screenings/{screening_pk}/participants/"]["post"]
    assert invite["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
    answers = schema["paths"]["/api/screenings/{screening_pk}/answers/"]["get"]
    assert {"phase", "participant"} <= {parameter["name"] for parameter in answers["parameters"]}
    assert schema["components"]["schemas"]["InviteRequest"]["required"] == ["count"]


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    # --fail-on-warn turns any warning or error of drf-spectacular into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/screenings/{screening_pk}/answers/" in (tmp_path / "schema.yaml").read_text()


def test_the_swagger_ui_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
