"""The campaign sequence: stage days, transitions, validation and template checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from outreach.campaigns.sequence import (
    DEFAULT_FOLLOW_UPS,
    DEFAULT_NOTE,
    NOTE_LIMIT,
    NextStep,
    SequenceSpec,
    Stage,
    StageRef,
    TemplateProblem,
    Templates,
    after_acceptance_check,
    after_follow_up,
    after_invitation,
    check_templates,
    follow_up,
    render,
    render_problems,
    template_variables,
    waiting_for,
)

INVITED = datetime(2026, 3, 2, 9, 41, 17, tzinfo=UTC)
DAY = timedelta(days=1)
DEFAULT = SequenceSpec()
JANE = {"first_name": "Jane", "last_name": "Doe", "company": "Acme"}


def day_of(step: NextStep) -> float:
    assert step.due is not None
    return (step.due - INVITED) / DAY


def walk(spec: SequenceSpec, *, late: timedelta = timedelta(0)) -> list[tuple[str, float]]:
    """Run a journey that is accepted and never replies; each stage runs ``late`` after due."""
    step = after_invitation(spec, invited_at=INVITED)
    assert step.due is not None
    seen = [(str(step.stage), day_of(step))]
    step = after_acceptance_check(spec, accepted=True, invited_at=INVITED, now=step.due + late)
    while step.end is None:
        assert step.stage is not None and step.due is not None
        seen.append((str(step.stage), day_of(step)))
        step = after_follow_up(spec, step.stage.number, invited_at=INVITED, now=step.due + late)
    seen.append((step.end, -1))
    return seen


# --- the default sequence ---------------------------------------------------------------


def test_the_default_sequence_is_the_seeds() -> None:
    assert DEFAULT.acceptance_check_days == 2
    assert DEFAULT.follow_up_days == [2, 7, 14, 19, 26]
    assert not DEFAULT.follow_up_on_acceptance
    assert walk(DEFAULT) == [
        ("check_acceptance", 2),
        ("follow_up:1", 2),
        ("follow_up:2", 7),
        ("follow_up:3", 14),
        ("follow_up:4", 19),
        ("follow_up:5", 26),
        ("completed", -1),
    ]


def test_the_acceptance_check_comes_two_days_after_the_invitation() -> None:
    step = after_invitation(DEFAULT, invited_at=INVITED)
    assert step == NextStep(StageRef(Stage.CHECK_ACCEPTANCE), INVITED + 2 * DAY)
    assert step.end is None


def test_not_accepted_ends_the_journey_as_not_accepted() -> None:
    now = INVITED + 2 * DAY
    assert after_acceptance_check(DEFAULT, accepted=False, invited_at=INVITED, now=now) == NextStep(
        None, None, end="not_accepted"
    )


def test_accepted_schedules_follow_up_one_on_day_two() -> None:
    step = after_acceptance_check(DEFAULT, accepted=True, invited_at=INVITED, now=INVITED + 2 * DAY)
    assert step == NextStep(StageRef(Stage.FOLLOW_UP, 1), INVITED + 2 * DAY)


@pytest.mark.parametrize(("number", "next_day"), [(1, 7), (2, 14), (3, 19), (4, 26)])
def test_each_follow_up_schedules_the_next_on_its_day(number: int, next_day: int) -> None:
    now = INVITED + timedelta(days=DEFAULT.follow_up_days[number - 1], minutes=3)
    step = after_follow_up(DEFAULT, number, invited_at=INVITED, now=now)
    assert step.stage == StageRef(Stage.FOLLOW_UP, number + 1)
    assert step.due == INVITED + next_day * DAY  # counted from the invitation, not from `now`


def test_the_last_follow_up_completes_the_journey() -> None:
    now = INVITED + 26 * DAY
    assert after_follow_up(DEFAULT, 5, invited_at=INVITED, now=now) == NextStep(
        None, None, end="completed"
    )


def test_days_count_from_the_invitation_so_a_late_stage_does_not_shift_the_rest() -> None:
    # Each stage runs six hours late (a night outside working hours, a paused sender):
    # follow-up 1, due with the check, goes at once; the later ones stay on the
    # invitation's calendar instead of drifting six hours more at every stage.
    assert walk(DEFAULT, late=timedelta(hours=6)) == [
        ("check_acceptance", 2),
        ("follow_up:1", 2.25),
        ("follow_up:2", 7),
        ("follow_up:3", 14),
        ("follow_up:4", 19),
        ("follow_up:5", 26),
        ("completed", -1),
    ]


def test_a_follow_up_is_never_scheduled_in_the_past() -> None:
    # The acceptance check ran five days late: follow-up 1 (day 2) is due now, not in the past.
    now = INVITED + 7 * DAY
    step = after_acceptance_check(DEFAULT, accepted=True, invited_at=INVITED, now=now)
    assert step.stage == StageRef(Stage.FOLLOW_UP, 1) and step.due == now
    # Follow-up 2 ran after follow-up 3's day: follow-up 3 goes now.
    now = INVITED + 15 * DAY
    assert after_follow_up(DEFAULT, 2, invited_at=INVITED, now=now).due == now
    # A follow-up due later than `now` keeps its day.
    assert follow_up(DEFAULT, 3, invited_at=INVITED, now=INVITED).due == INVITED + 14 * DAY


def test_custom_days_per_campaign() -> None:
    spec = SequenceSpec(acceptance_check_days=3, follow_up_days=[3, 10, 30])
    assert walk(spec) == [
        ("check_acceptance", 3),
        ("follow_up:1", 3),
        ("follow_up:2", 10),
        ("follow_up:3", 30),
        ("completed", -1),
    ]


def test_fractional_days_are_kept() -> None:
    spec = SequenceSpec(acceptance_check_days=0.5, follow_up_days=[1.25])
    assert walk(spec) == [("check_acceptance", 0.5), ("follow_up:1", 1.25), ("completed", -1)]


def test_a_single_follow_up_completes_after_it() -> None:
    spec = SequenceSpec(follow_up_days=[4])
    assert after_follow_up(spec, 1, invited_at=INVITED, now=INVITED + 4 * DAY).end == "completed"


def test_follow_up_on_acceptance_allows_an_early_first_follow_up() -> None:
    spec = SequenceSpec(follow_up_on_acceptance=True, follow_up_days=[0, 5, 12])
    # Acceptance seen half a day after the invitation: follow-up 1 goes right away.
    seen = INVITED + timedelta(hours=12)
    assert follow_up(spec, 1, invited_at=INVITED, now=seen) == NextStep(
        StageRef(Stage.FOLLOW_UP, 1), seen
    )


def test_the_spec_round_trips_through_json() -> None:
    spec = SequenceSpec(
        acceptance_check_days=1.5, follow_up_days=[2, 9.5], follow_up_on_acceptance=True
    )
    assert SequenceSpec.model_validate(spec.model_dump(mode="json")) == spec


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"follow_up_days": [2, 7, 7, 14]}, "strictly increase"),
        ({"follow_up_days": [2, 14, 7]}, "strictly increase"),
        ({"follow_up_days": []}, "between 1 and 10"),
        ({"follow_up_days": list(range(2, 13))}, "between 1 and 10"),
        ({"follow_up_days": [1, 7]}, "before the acceptance check"),
        ({"acceptance_check_days": 5, "follow_up_days": [4, 9]}, "before the acceptance check"),
        ({"acceptance_check_days": 0}, "greater than 0"),
        ({"acceptance_check_days": -1}, "greater than 0"),
        ({"acceptance_check_days": 61, "follow_up_days": [61, 70]}, "less than or equal to 60"),
    ],
)
def test_invalid_sequences_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SequenceSpec(**kwargs)


def test_follow_up_one_may_share_the_check_day() -> None:
    assert SequenceSpec(acceptance_check_days=2, follow_up_days=[2]).follow_up_days == [2]
    assert len(SequenceSpec(follow_up_days=list(range(2, 12))).follow_up_days) == 10


def test_follow_up_one_before_the_check_needs_follow_up_on_acceptance() -> None:
    with pytest.raises(ValidationError):
        SequenceSpec(follow_up_days=[1, 7])
    assert SequenceSpec(follow_up_days=[1, 7], follow_up_on_acceptance=True).follow_up_days == [
        1,
        7,
    ]


@pytest.mark.parametrize(
    "days", [[-3, 5], [2, 3_000_000], [2, float("inf")], [float("nan")]], ids=str
)
def test_follow_up_days_outside_any_calendar_are_rejected(days: list[float]) -> None:
    # Otherwise the campaign saves and the journey crashes later on ``invited_at + days``.
    with pytest.raises(ValidationError):
        SequenceSpec(follow_up_days=days, follow_up_on_acceptance=True)


def test_a_follow_up_a_year_after_the_invitation_is_allowed() -> None:
    spec = SequenceSpec(follow_up_days=[2, 365])
    assert follow_up(spec, 2, invited_at=INVITED, now=INVITED).due == INVITED + 365 * DAY


# --- stage references -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "text", "waiting"),
    [
        (StageRef(Stage.INVITE), "invite", "its turn to be invited"),
        (StageRef(Stage.CHECK_ACCEPTANCE), "check_acceptance", "acceptance check"),
        (StageRef(Stage.FOLLOW_UP, 3), "follow_up:3", "follow-up 3"),
    ],
)
def test_stage_refs_round_trip_and_say_what_they_wait_for(
    ref: StageRef, text: str, waiting: str
) -> None:
    assert str(ref) == text
    assert StageRef.parse(text) == ref
    assert waiting_for(ref) == waiting


def test_an_unknown_stage_name_is_rejected() -> None:
    with pytest.raises(ValueError):
        StageRef.parse("send_flowers")


# --- template checks --------------------------------------------------------------------


def test_the_default_templates_pass() -> None:
    assert check_templates(Templates(), DEFAULT) == []
    assert render_problems(Templates(), {}) == []  # every default has a fallback


def test_default_filter_fills_a_missing_first_name() -> None:
    assert render("Hi {{ first_name | default('there') }}!", {}) == "Hi there!"
    assert render("Hi {{ first_name | default('there') }}!", JANE) == "Hi Jane!"
    note = Templates(invitation_note="Hi {{ first_name | default('there') }}", follow_ups=["x"])
    assert check_templates(note, SequenceSpec(follow_up_days=[2])) == []


def test_a_missing_variable_without_default_is_a_readable_problem() -> None:
    with pytest.raises(TemplateProblem, match="'first_name' is undefined"):
        render("Hi {{ first_name }}", {})


def test_the_default_note_names_the_prospect_and_stays_short() -> None:
    text = render(DEFAULT_NOTE, JANE)
    assert text.startswith("Hi Jane,") and "Acme" in text
    assert len(text) <= NOTE_LIMIT
    assert len(DEFAULT_FOLLOW_UPS) == len(DEFAULT.follow_up_days)


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("Hi {{ first_name ", "unexpected end of template"),
        ("{% if first_name %}Hi", "Unexpected end of template"),
        ("{{ first_name | shout }}", "No filter named 'shout'"),
        ("{% for %}", "Expected an expression"),
    ],
)
def test_a_syntax_error_is_rejected_with_a_readable_message(source: str, where: str) -> None:
    problems = check_templates(Templates(invitation_note=source), DEFAULT)
    assert len(problems) == 1
    assert problems[0].startswith("invitation_note: ")
    assert where in problems[0]
    assert "Traceback" not in problems[0] and "\n" not in problems[0]


def test_a_broken_follow_up_is_named_by_its_number() -> None:
    follow_ups = list(DEFAULT_FOLLOW_UPS)
    follow_ups[2] = "{{ oops"
    problems = check_templates(Templates(follow_ups=follow_ups), DEFAULT)
    assert len(problems) == 1 and problems[0].startswith("follow_ups[3]: ")


def test_unsafe_templates_are_refused_by_the_sandbox() -> None:
    problems = check_templates(Templates(invitation_note="{{ ''.__class__.__mro__ }}"), DEFAULT)
    assert len(problems) == 1 and "unsafe" in problems[0]


@pytest.mark.parametrize(
    "source", ["{{ 1 / 0 }}", "{{ '%d' % first_name }}", "{{ range(10 ** 7) | list }}"], ids=str
)
def test_a_template_failing_at_render_time_is_a_problem_not_a_crash(source: str) -> None:
    problems = check_templates(Templates(invitation_note=source), DEFAULT)
    assert len(problems) == 1 and problems[0].startswith("invitation_note: ")
    assert len(render_problems(Templates(invitation_note=source), JANE)) == 1


def test_a_note_rendering_over_300_characters_is_rejected() -> None:
    one = SequenceSpec(follow_up_days=[2])
    fits = Templates(invitation_note="x" * NOTE_LIMIT, follow_ups=["hello"])
    assert check_templates(fits, one) == []
    too_long = Templates(invitation_note="x" * (NOTE_LIMIT + 1), follow_ups=["hello"])
    assert check_templates(too_long, one) == [
        "invitation_note: renders to 301 characters; LinkedIn allows 300"
    ]


def test_the_note_limit_is_checked_with_long_sample_names() -> None:
    # 270 characters of text plus a company name: fine for "Acme", too long for a long name.
    source = "y" * 270 + " {{ company }}"
    templates = Templates(invitation_note=source, follow_ups=["hello"])
    assert render_problems(templates, JANE) == []
    problems = check_templates(templates, SequenceSpec(follow_up_days=[2]))
    assert len(problems) == 1 and "LinkedIn allows 300" in problems[0]
    long_company = JANE | {"company": "C" * 60}
    assert render_problems(templates, long_company) == [
        "invitation_note: renders to 331 characters; LinkedIn allows 300"
    ]


def test_no_note_or_an_empty_note_is_fine() -> None:
    assert check_templates(Templates(invitation_note=None), DEFAULT) == []
    assert check_templates(Templates(invitation_note=""), DEFAULT) == []


@pytest.mark.parametrize("empty", ["", "   \n  ", "{{ '' }}", "{% if false %}hi{% endif %}"])
def test_an_empty_follow_up_is_rejected(empty: str) -> None:
    follow_ups = list(DEFAULT_FOLLOW_UPS)
    follow_ups[1] = empty
    assert check_templates(Templates(follow_ups=follow_ups), DEFAULT) == [
        "follow_ups[2]: renders to an empty message"
    ]


def test_wrong_number_of_follow_up_texts_is_reported() -> None:
    four = Templates(follow_ups=list(DEFAULT_FOLLOW_UPS[:4]))
    assert check_templates(four, DEFAULT) == ["5 follow-up days but 4 follow-up texts"]
    assert check_templates(Templates(), SequenceSpec(follow_up_days=[2, 9])) == [
        "2 follow-up days but 5 follow-up texts"
    ]


def test_an_unknown_custom_variable_is_fine_at_save_but_reported_per_prospect() -> None:
    follow_ups = list(DEFAULT_FOLLOW_UPS)
    follow_ups[0] = "Loved your talk at {{ event_name }}, {{ first_name | default('there') }}!"
    templates = Templates(follow_ups=follow_ups)
    assert check_templates(templates, DEFAULT) == []
    assert template_variables(follow_ups[0]) == {"event_name", "first_name"}
    assert render_problems(templates, JANE) == ["follow_ups[1]: 'event_name' is undefined"]
    assert render_problems(templates, JANE | {"event_name": "PyCon"}) == []
    assert (
        render(follow_ups[0], JANE | {"event_name": "PyCon"}) == "Loved your talk at PyCon, Jane!"
    )


def test_every_problem_is_reported_at_once() -> None:
    templates = Templates(invitation_note="{{ broken", follow_ups=["ok", "", "{{ x"])
    problems = check_templates(templates, DEFAULT)
    assert problems[0] == "5 follow-up days but 3 follow-up texts"
    assert [p.split(":")[0] for p in problems[1:]] == [
        "invitation_note",
        "follow_ups[2]",
        "follow_ups[3]",
    ]


def test_rendering_strips_surrounding_whitespace_but_keeps_inner_lines() -> None:
    assert render("\n  Hi {{ first_name }},\n\nthanks!\n", JANE) == "Hi Jane,\n\nthanks!"
