"""Segments: their rules checked with a message per rule, who meets them, and the services that save them."""

import pytest
from django.core.exceptions import ValidationError

from screenings import services
from screenings.models import Participant, Question, Segment
from screenings.rules.segments import check_segment_rules, rule_text
from screenings.selectors.segments import questions_by_id, segment_members
from tests.factories import (
    AnswerFactory,
    EmotionSampleFactory,
    ParticipantFactory,
    QuestionFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db


def question(screening, text: str) -> Question:
    return screening.questions.get(text=text)


def viewers(screening, *panel_ids: str) -> set[int]:
    return set(screening.participants.filter(external_id__in=panel_ids).values_list("pk", flat=True))


def members(screening, rules) -> set[int]:
    segment = services.segment_create(screening=screening, name=f"segment {Segment.objects.count()}", rules=rules)
    return set(segment_members(segment))


def refusal(screening, rules) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        check_segment_rules(rules, questions=questions_by_id(screening))
    return raised.value.message_dict["rules"]


class TestRulesChecked:
    def test_a_question_asked_only_after_implies_its_phase(self, trailer):
        again = question(trailer, "Would you watch it?")
        checked = check_segment_rules([{"question": again.pk, "in": ["Yes"]}], questions=questions_by_id(trailer))
        assert checked == [{"question": again.pk, "phase": "after", "in": ["Yes"]}]

    def test_a_question_asked_before_and_after_needs_the_phase(self, trailer):
        mood = question(trailer, "How do you feel?")
        assert refusal(trailer, [{"question": mood.pk, "min": 4}]) == [
            f'Rule 1: question {mood.pk} is asked before and after watching: say which answer counts with "phase": '
            '"before" or "after".'
        ]
        checked = check_segment_rules([{"question": mood.pk, "min": 4, "phase": "before"}],
                                      questions=questions_by_id(trailer))  # fmt: skip
        assert checked == [{"question": mood.pk, "phase": "before", "min": 4}]

    def test_a_phase_the_question_is_not_asked_in_is_refused(self, trailer):
        films = question(trailer, "Films a month?")
        assert refusal(trailer, [{"question": films.pk, "min": 1, "phase": "after"}]) == [
            f"Rule 1: question {films.pk} is asked only before watching, not after."
        ]

    def test_an_unknown_question_and_another_screenings_read_alike(self, trailer, organizer):
        elsewhere = QuestionFactory(screening=ScreeningFactory(owner=organizer), kind=Question.Kind.LIKERT5)
        assert refusal(trailer, [{"question": 999_999, "min": 1}]) == [
            "Rule 1: question 999999 is not one of this screening's questions."
        ]
        assert refusal(trailer, [{"question": elsewhere.pk, "min": 1}]) == [
            f"Rule 1: question {elsewhere.pk} is not one of this screening's questions."
        ]

    def test_a_choice_not_among_the_questions_choices_is_named(self, trailer):
        again = question(trailer, "Would you watch it?")
        assert refusal(trailer, [{"question": again.pk, "in": ["Yes", "Weekly"]}]) == [
            f"Rule 1: 'Weekly' is not a choice of question {again.pk} (its choices: 'Yes', 'Maybe', 'No')."
        ]

    def test_a_minimum_above_the_maximum_is_refused(self, trailer):
        interest = question(trailer, "How interested are you?")
        assert refusal(trailer, [{"question": interest.pk, "min": 80, "max": 20}]) == [
            "Rule 1: min (80) is above max (20)."
        ]

    def test_each_broken_rule_gets_its_own_message_by_position(self, trailer):
        again = question(trailer, "Would you watch it?")
        messages = refusal(trailer, [{"question": again.pk, "in": ["Yes"]}, {"capture": "tv"}, {"min_face_rate": 2}])
        assert [message.split(":")[0] for message in messages] == ["Rule 2", "Rule 3"]

    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            ("everyone", "a rule is an object"),
            ({}, "give exactly one of question, panel_id, label, capture, min_face_rate"),
            ({"panel_id": ["P1"], "capture": "live"}, "give exactly one of"),
            ({"capture": "live", "colour": "red"}, "unknown key 'colour'"),
            ({"question": True, "min": 1}, "question must be the id of one of this screening's questions"),
            ({"question": "12", "min": 1}, "question must be the id"),
            ({"panel_id": []}, "panel_id must be a list of 1 to 1000 texts"),
            ({"label": [""]}, "each label must be a non-empty text"),
            ({"min_face_rate": "0.8"}, "min_face_rate must be a share from 0 to 1"),
            ({"min_face_rate": -0.1}, "min_face_rate must be a share from 0 to 1"),
        ],
    )
    def test_malformed_rules_are_refused_in_words(self, trailer, rule, message):
        (refused,) = refusal(trailer, [rule])
        assert refused.startswith("Rule 1: ") and message in refused

    def test_rules_must_be_a_list(self, trailer):
        assert refusal(trailer, {"question": 1})[0].startswith("Rules must be a list of rule objects")

    def test_what_a_question_takes_follows_its_kind(self, trailer):
        kinds = {text: question(trailer, text).pk for text in ("Would you watch it?", "How interested are you?",
                                                              "What stayed with you?", "How do you feel?")}  # fmt: skip
        assert "give the choices to match with \"in\"" in refusal(
            trailer, [{"question": kinds["Would you watch it?"], "min": 1}])[0]  # fmt: skip
        assert "give a range with" in refusal(trailer, [{"question": kinds["How interested are you?"], "in": [5]}])[0]
        assert "is free text" in refusal(trailer, [{"question": kinds["What stayed with you?"], "in": ["x"]}])[0]
        assert "the points 1 to 5" in refusal(
            trailer, [{"question": kinds["How do you feel?"], "phase": "after", "in": [6]}])[0]  # fmt: skip
        assert "not both" in refusal(trailer, [{"question": kinds["How interested are you?"], "in": [5], "min": 1}])[0]

    def test_rules_read_in_words(self, trailer):
        rules = check_segment_rules(
            [{"question": question(trailer, "Would you watch it?").pk, "in": ["Yes", "Maybe"]},
             {"question": question(trailer, "How interested are you?").pk, "min": 50},
             {"panel_id": ["P1", "P2"]}, {"capture": "live"}, {"min_face_rate": 0.8}],
            questions=questions_by_id(trailer),
        )  # fmt: skip
        assert [rule_text(rule, questions_by_id(trailer)) for rule in rules] == [
            "“Would you watch it?” (after) is Yes or Maybe",
            "“How interested are you?” (after) at least 50",
            "panel id is P1 or P2",
            "captured live by the webcam",
            "face found in at least 80% of frames",
        ]


class TestMembers:
    def test_a_choice_picks_those_who_gave_it(self, trailer):
        again = question(trailer, "Would you watch it?")
        assert members(trailer, [{"question": again.pk, "in": ["Yes"]}]) == viewers(trailer, "P1", "P3")

    def test_a_multiple_choice_answer_matches_on_any_choice_given(self, trailer):
        liked = question(trailer, "Which scenes did you like?")
        assert members(trailer, [{"question": liked.pk, "in": ["Chase"]}]) == viewers(trailer, "P2")
        assert members(trailer, [{"question": liked.pk, "in": ["Opening", "Reveal"]}]) == viewers(trailer, "P1", "P2")

    def test_ranges_include_their_bounds_and_read_the_phase_asked(self, trailer):
        films, mood = question(trailer, "Films a month?"), question(trailer, "How do you feel?")
        assert members(trailer, [{"question": films.pk, "max": 12}]) == viewers(trailer, "P2", "P3")
        assert members(trailer, [{"question": mood.pk, "phase": "before", "min": 3}]) == viewers(trailer, "P2", "P3")
        assert members(trailer, [{"question": mood.pk, "phase": "after", "min": 4, "max": 4}]) == viewers(trailer, "P1")

    def test_rules_are_anded(self, trailer):
        again, mood = question(trailer, "Would you watch it?"), question(trailer, "How do you feel?")
        rules = [{"question": again.pk, "in": ["Yes"]}, {"question": mood.pk, "phase": "before", "min": 3}]
        assert members(trailer, rules) == viewers(trailer, "P3")

    def test_no_rules_is_everyone(self, trailer):
        assert members(trailer, []) == set(trailer.participants.values_list("pk", flat=True))

    def test_prefer_not_to_say_and_no_answer_meet_no_rule(self, screening):
        likert = QuestionFactory(screening=screening, kind=Question.Kind.LIKERT5, allow_prefer_not=True)
        declined = ParticipantFactory(screening=screening)
        AnswerFactory(participant=declined, question=likert, value={"prefer_not_to_say": True})
        ParticipantFactory(screening=screening)
        assert members(screening, [{"question": likert.pk, "min": 1}]) == set()

    def test_panel_ids(self, trailer):
        assert members(trailer, [{"panel_id": ["P2", "P9"]}]) == viewers(trailer, "P2")

    def test_a_label_takes_the_batch_of_invites_made_with_it(self, trailer):
        batch = services.invites_create(screening=trailer, count=2, label="wave-2")
        alone = ParticipantFactory(screening=trailer, label="wave-2")
        ParticipantFactory(screening=trailer, label="wave-20")
        ParticipantFactory(screening=trailer, label="wave-2-extra")
        assert members(trailer, [{"label": ["wave-2"]}]) == {batch[0].pk, batch[1].pk, alone.pk}

    def test_live_capture_against_an_uploaded_recording(self, trailer):
        recorded = ParticipantFactory(screening=trailer, source=Participant.Source.RECORDING)
        assert members(trailer, [{"capture": "recording"}]) == {recorded.pk}
        assert members(trailer, [{"capture": "live"}]) == viewers(trailer, "P1", "P2", "P3")

    def test_the_face_found_rate_at_or_above_a_share(self, screening):
        steady, shaky, unseen = (ParticipantFactory(screening=screening) for _ in range(3))
        for second in range(4):
            EmotionSampleFactory(participant=steady, media_time=float(second))
            if second < 3:
                EmotionSampleFactory(participant=shaky, media_time=float(second))
            else:
                EmotionSampleFactory(participant=shaky, media_time=float(second), face_found=False,
                                     dominant_emotion="")  # fmt: skip
        assert members(screening, [{"min_face_rate": 0.75}]) == {steady.pk, shaky.pk}
        assert members(screening, [{"min_face_rate": 0.8}]) == {steady.pk}
        assert unseen.pk not in members(screening, [{"min_face_rate": 0}])

    def test_a_face_rate_exactly_at_the_share_meets_it_despite_rounding(self, screening):
        viewer = ParticipantFactory(screening=screening)
        # 7 faces in 25 frames is 0.28 exactly; 0.28 * 25 is 7.000000000000001 in floating point.
        for second in range(25):
            face = second < 7
            EmotionSampleFactory(participant=viewer, media_time=float(second), face_found=face,
                                 **({} if face else {"dominant_emotion": ""}))  # fmt: skip
        assert members(screening, [{"min_face_rate": 0.28}]) == {viewer.pk}
        assert members(screening, [{"min_face_rate": 0.29}]) == set()


class TestServices:
    def test_a_segment_is_stored_with_its_rules_normalised(self, trailer):
        again = question(trailer, "Would you watch it?")
        segment = services.segment_create(screening=trailer, name="  Keen  ",
                                          rules=[{"question": again.pk, "in": ["Yes", "Yes"]}])  # fmt: skip
        segment.refresh_from_db()
        assert (segment.name, segment.rules) == ("Keen", [{"question": again.pk, "phase": "after", "in": ["Yes"]}])

    def test_a_name_is_unique_within_its_screening_only(self, trailer, organizer):
        services.segment_create(screening=trailer, name="Keen", rules=[])
        with pytest.raises(ValidationError) as raised:
            services.segment_create(screening=trailer, name="Keen", rules=[])
        assert raised.value.message_dict == {"name": ["This screening already has a segment named “Keen”."]}
        services.segment_create(screening=ScreeningFactory(owner=organizer), name="Keen", rules=[])

    def test_a_refused_change_stores_nothing(self, trailer):
        segment = services.segment_create(screening=trailer, name="Keen", rules=[{"panel_id": ["P1"]}])
        with pytest.raises(ValidationError) as raised:
            services.segment_update(segment=segment, name="Renamed", rules=[{"question": 999_999, "min": 1}])
        assert set(raised.value.message_dict) == {"rules"}
        segment.refresh_from_db()
        assert (segment.name, segment.rules) == ("Keen", [{"panel_id": ["P1"]}])

    def test_a_change_is_checked_as_a_creation_is(self, trailer):
        services.segment_create(screening=trailer, name="Other", rules=[])
        segment = services.segment_create(screening=trailer, name="Keen", rules=[])
        with pytest.raises(ValidationError):
            services.segment_update(segment=segment, name="Other")
        services.segment_update(segment=segment, name="Keen")
        updated = services.segment_update(segment=segment, rules=[{"capture": "live"}])
        assert Segment.objects.get(pk=updated.pk).rules == [{"capture": "live"}]

    def test_deleting_a_segment_leaves_its_participants(self, trailer):
        segment = services.segment_create(screening=trailer, name="Keen", rules=[])
        services.segment_delete(segment=segment)
        assert not Segment.objects.exists() and trailer.participants.count() == 3

    def test_a_blank_name_is_refused(self, trailer):
        with pytest.raises(ValidationError) as raised:
            services.segment_create(screening=trailer, name=" ", rules=[])
        assert raised.value.message_dict == {"name": ["A segment needs a name."]}
