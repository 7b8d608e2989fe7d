import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from screenings.models import Screening

pytestmark = pytest.mark.django_db


def test_the_demo_loads_an_open_screening_with_a_playable_stimulus_and_prints_a_working_login(capsys):
    call_command("load_demo")
    output = capsys.readouterr().out
    screening = Screening.objects.get(slug="demo-trailer")
    assert screening.is_open
    assert screening.stimulus_duration == pytest.approx(18, abs=0.1)
    assert screening.questions.count() >= 5 and screening.scenes.count() == 3
    password = output.split("password ")[1].split()[0]
    assert authenticate(username="organizer", password=password) is not None
    assert "/s/demo-trailer/join/" in output

    call_command("load_demo")
    assert Screening.objects.filter(slug="demo-trailer").count() == 1
