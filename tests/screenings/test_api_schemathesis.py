"""The API keeps the promises of its schema: schemathesis sends it generated requests, a bounded number.

Every operation of the served schema gets a few generated cases, valid and invalid (bodies, query
strings, ids), sent with an organizer's token through the site's WSGI application in the test's
database. About half the cases name the organizer's own screening, question, scene, participant and
answer instead of a generated id, so that they reach the code behind the 404. No case may answer
5xx, and every answer must be one the schema documents, in the shape it documents.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import AnswerFactory, EmotionSampleFactory, ParticipantFactory, SceneFactory, ScreeningFactory

# Cases per operation and generation mode: 37 operations, so some 600 cases, which take about
# half a minute on two busy cores. FUZZ_CASES runs more by hand (100: up to 7,400 cases, four and a half minutes).
CASES_PER_OPERATION = int(os.environ.get("FUZZ_CASES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def own_ids(organizer) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Some of the organizer's data, by the path segment that names it."""
    screening = ScreeningFactory(owner=organizer)
    answer = AnswerFactory(participant=ParticipantFactory(screening=screening))
    EmotionSampleFactory(participant=answer.participant)
    return {
        "screenings": screening.pk,
        "questions": answer.question.pk,
        "scenes": SceneFactory(screening=screening).pk,
        "participants": answer.participant.pk,
        "answers": answer.pk,
        "screening_pk": screening.pk,
        "identifier": "participants-csv",
    }


@pytest.fixture
def served_schema(organizer, own_ids, settings) -> Iterator[schemathesis.BaseSchema]:  # type: ignore[no-untyped-def]
    """The schema as the API serves it, bound to the site's WSGI application."""
    # Generated cases come faster than any organizer's script: the rates are not what is tested here.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"organizer": "100000/minute", "invites": "100000/minute"},
    }
    client = APIClient()
    client.force_authenticate(organizer)
    loaded = schemathesis.openapi.from_dict(client.get("/api/schema/", {"format": "json"}).json())
    loaded.app = WSGIHandler()
    # As in Django's test client: the end of a request must not close the test's open transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield loaded
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def with_own_ids(path: str, parameters: dict[str, Any], own_ids: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with each id replaced by the organizer's own object of the kind the path names."""
    segments = path.strip("/").split("/")
    replaced = dict(parameters)
    for name in parameters:
        if name == "id":
            kind = segments[segments.index("{id}") - 1]
            replaced[name] = own_ids.get(kind, parameters[name])
        elif name in own_ids:
            replaced[name] = own_ids[name]
    return replaced


def failures_of(operation: Any, mode: GenerationMode, token: str, own_ids: dict[str, Any], sent: list[int]) -> str:
    """The failures of a few generated cases of one operation, in words ('' for none)."""

    @given(case=operation.as_strategy(generation_mode=mode), own=st.booleans())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any, own: bool) -> None:
        if own and case.path_parameters:
            case.path_parameters = with_own_ids(operation.path, case.path_parameters, own_ids)
        sent.append(1)
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

    try:
        send()
    except (Failure, FailureGroup) as failure:
        # Every operation is tried; the failures are reported together.
        return f"{operation.label} ({mode}): {failure}"
    return ""


def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(served_schema, organizer, own_ids):  # type: ignore[no-untyped-def]
    token = Token.objects.get_or_create(user=organizer)[0].key
    operations = [result.ok() for result in served_schema.get_all_operations()]
    assert len(operations) > 30
    sent: list[int] = []
    failures = [
        failures_of(operation, mode, token, own_ids, sent)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    assert not any(failures), "\n\n".join(failure for failure in failures if failure)
    assert len(sent) > 2 * len(operations)


def test_ids_are_replaced_by_the_organizers_own_objects_of_the_kind_the_path_names():
    own = {"questions": 7, "screening_pk": 3, "screenings": 3}
    path = "/api/screenings/{screening_pk}/questions/{id}/"
    assert with_own_ids(path, {"screening_pk": 99, "id": 98}, own) == {"screening_pk": 3, "id": 7}
    assert with_own_ids("/api/analyses/{id}/", {"id": 5}, own) == {"id": 5}
