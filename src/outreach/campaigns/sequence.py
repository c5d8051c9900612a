"""The campaign sequence: its stages, their days, and the templates they send.

Pure: what runs after a stage, and when, is a function of the sequence, the outcome
and the journey's dates. The default is the seed's: invitation on day 0, acceptance
check on day 2, follow-ups on days 2, 7, 14, 19 and 26 (days count from the invitation).
"""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from jinja2 import StrictUndefined, Template, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field, model_validator

NOTE_LIMIT = 300
MESSAGE_LIMIT = 8000  # LinkedIn's limit for a message

_env = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)

DEFAULT_NOTE = (
    "Hi {{ first_name | default('there') }}, I came across your work at "
    "{{ company | default('your company') }} and would love to connect."
)
DEFAULT_FOLLOW_UPS = (
    "Thanks for connecting, {{ first_name | default('there') }}! I help teams like "
    "{{ company | default('yours') }} automate their outreach. Open to a quick chat?",
    "Hi {{ first_name | default('there') }}, just floating this back up in case it got buried.",
    "{{ first_name | default('Hi') }}, one idea: most teams we work with save 5 hours a week "
    "on prospecting. Happy to show you how in 15 minutes.",
    "Hi {{ first_name | default('there') }}, would it make sense to talk next week, "
    "or is someone else at {{ company | default('your team') }} better placed?",
    "I'll stop here, {{ first_name | default('there') }} — thanks for reading. "
    "If outreach ever becomes a priority, my door is open. All the best!",
)


class SequenceSpec(BaseModel):
    """Every number of the default campaign, changeable per campaign."""

    acceptance_check_days: float = Field(default=2, gt=0, le=60)
    # Bounded so a typo cannot save a campaign whose journeys overflow a date later.
    follow_up_days: list[Annotated[float, Field(ge=0, le=365)]] = Field(
        default_factory=lambda: [2.0, 7.0, 14.0, 19.0, 26.0]
    )
    follow_up_on_acceptance: bool = Field(
        default=False, description="Send follow-up 1 as soon as acceptance is seen."
    )
    resume_after_out_of_office: bool = Field(
        default=False,
        description="An out-of-office reply with a return date (within 90 days) does not end "
        "the sequence: it goes on after that day.",
    )
    auto_approve_out_of_office: bool = Field(
        default=False,
        description="Send the campaign's out-of-office acknowledgement without asking a "
        "person (its own text, never a model's words); every other answer waits for one.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> SequenceSpec:
        days = self.follow_up_days
        if not 1 <= len(days) <= 10:
            raise ValueError("a sequence has between 1 and 10 follow-ups")
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("follow-up days must strictly increase")
        if days[0] < self.acceptance_check_days and not self.follow_up_on_acceptance:
            raise ValueError("follow-up 1 cannot come before the acceptance check")
        return self


# The intents the reply agent drafts an answer to: not to "stop" or a plain "no" (those
# people go on the do-not-contact list, and one more message is one too many).
ANSWERED_INTENTS = (
    "interested",
    "question",
    "later",
    "out_of_office",
    "referral",
    "wrong_person",
    "other",
)
# What an answer's template may read beyond the prospect's fields (absent when unknown).
ANSWER_VARIABLES = {"return_date": "Monday 4 January", "referral": "Jordan Lee", "question": "?"}


class Templates(BaseModel):
    invitation_note: str | None = DEFAULT_NOTE
    follow_ups: list[str] = Field(default_factory=lambda: list(DEFAULT_FOLLOW_UPS))
    answers: dict[str, str] = Field(
        default_factory=dict,
        description="The reply agent's draft per intent of the reply (Jinja, like the "
        "follow-ups, plus `return_date`, `referral` and `question` when the reply gives "
        "them); an intent not named here gets the built-in text.",
    )

    @model_validator(mode="after")
    def _answered(self) -> Templates:
        unknown = sorted(set(self.answers) - set(ANSWERED_INTENTS))
        if unknown:
            raise ValueError(
                f"answers for {', '.join(unknown)}: the reply agent answers only "
                f"{', '.join(ANSWERED_INTENTS)}"
            )
        return self


class TemplateProblem(ValueError):
    pass


def template_variables(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(_env.parse(source)))


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _env.from_string(source)


def render(source: str, variables: dict[str, Any]) -> str:
    """Render one template; raises ``TemplateProblem`` with a readable reason."""
    try:
        return _compiled(source).render(**variables).strip()
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or exc)) from exc
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # Python errors inside the template ({{ 1 / 0 }}, a range over the sandbox's cap).
        raise TemplateProblem(str(exc)) from exc


SAMPLE_PROSPECT = {
    "first_name": "Maximiliana",
    "last_name": "Vanderbilt-Okonkwo",
    "full_name": "Maximiliana Vanderbilt-Okonkwo",
    "company": "International Consolidated Holdings",
    "title": "Senior Director of Revenue Operations",
}


SAMPLE_ANSWER = SAMPLE_PROSPECT | ANSWER_VARIABLES


def _named(templates: Templates) -> list[tuple[str, str]]:
    named = (
        []
        if templates.invitation_note is None
        else [("invitation_note", templates.invitation_note)]
    )
    return named + [(f"follow_ups[{i + 1}]", text) for i, text in enumerate(templates.follow_ups)]


def check_templates(templates: Templates, sequence: SequenceSpec) -> list[str]:
    """Problems that would make a send fail later; checked when the campaign is saved.

    Each template must parse and render for a long-named prospect. Custom variables
    (beyond the standard fields) get a sample value here; whether each prospect has
    them is checked when prospects are imported (``render_all``).
    """
    problems: list[str] = []
    if len(templates.follow_ups) != len(sequence.follow_up_days):
        problems.append(
            f"{len(sequence.follow_up_days)} follow-up days but "
            f"{len(templates.follow_ups)} follow-up texts"
        )
    for name, source in _named(templates):
        try:
            custom = template_variables(source) - set(SAMPLE_PROSPECT)
        except TemplateError as exc:
            problems.append(f"{name}: {exc.message or exc}")
            continue
        sample = SAMPLE_PROSPECT | {var: f"sample {var}" for var in custom}
        problems.extend(_render_problems(name, source, sample))
    for intent, source in templates.answers.items():
        # Custom fields are not there when a reply comes: an answer reads the standard ones.
        problems.extend(_render_problems(f"answers.{intent}", source, SAMPLE_ANSWER))
    return problems


def _render_problems(name: str, source: str, variables: dict[str, Any]) -> list[str]:
    try:
        text = render(source, variables)
    except TemplateProblem as exc:
        return [f"{name}: {exc}"]
    return _text_problems(name, text)


def _text_problems(name: str, text: str) -> list[str]:
    if name == "invitation_note" and len(text) > NOTE_LIMIT:
        return [f"invitation_note: renders to {len(text)} characters; LinkedIn allows {NOTE_LIMIT}"]
    if not text and name != "invitation_note":
        return [f"{name}: renders to an empty message"]
    if name != "invitation_note" and len(text) > MESSAGE_LIMIT:
        return [f"{name}: renders to {len(text)} characters; LinkedIn allows {MESSAGE_LIMIT}"]
    return []


@dataclass(frozen=True)
class PreviewStep:
    """One text of the sequence as a prospect would receive it."""

    name: str  # invitation_note | follow_ups[N]
    day: float
    text: str | None  # None when it cannot be rendered (see problems)
    characters: int
    limit: int
    problems: list[str]


def preview(
    templates: Templates, spec: SequenceSpec, variables: dict[str, Any]
) -> list[PreviewStep]:
    """Every text rendered for one prospect, with its length and what is wrong with it."""
    days = (
        [0.0, *spec.follow_up_days]
        if templates.invitation_note is not None
        else list(spec.follow_up_days)
    )
    steps = []
    for (name, source), day in zip(_named(templates), days, strict=False):
        limit = NOTE_LIMIT if name == "invitation_note" else MESSAGE_LIMIT
        try:
            text = render(source, variables)
        except TemplateProblem as exc:
            steps.append(PreviewStep(name, day, None, 0, limit, [f"{name}: {exc}"]))
            continue
        steps.append(PreviewStep(name, day, text, len(text), limit, _text_problems(name, text)))
    return steps


STANDARD_VARIABLES = tuple(SAMPLE_PROSPECT)  # the prospect's own fields, every template has


def render_problems(templates: Templates, variables: dict[str, Any]) -> list[str]:
    """Why this prospect's messages cannot be rendered (empty when they can)."""
    return [
        p for name, source in _named(templates) for p in _render_problems(name, source, variables)
    ]


Check = Callable[[Mapping[str, Any]], list[str]]


def problem_check(templates: Templates) -> Check:
    """``render_problems`` for many prospects: each template is looked at once, not once
    per prospect (an import of 100,000 rows rendered 600,000 templates).

    A template made only of text, variables and ``default('…')`` (as the default ones
    are) is assembled in Python, as Jinja would render it; any other is rendered by
    Jinja once per distinct set of values of the variables it uses. Same answers as
    ``render_problems``, which ``tests/campaigns/test_problem_check.py`` compares.
    """
    checks = [_check(name, source) for name, source in _named(templates)]
    return lambda variables: [p for check in checks for p in check(variables)]


def _check(name: str, source: str) -> Check:
    try:
        plain = _plain(source)
        used = sorted(template_variables(source))
    except TemplateError:  # not a template: every prospect gets the same problem
        return lambda variables: _render_problems(name, source, dict(variables))
    memo: dict[str, list[str]] = {}

    def rendered(variables: Mapping[str, Any]) -> list[str]:
        key = repr([variables.get(var, _MISSING) for var in used])
        if key not in memo:
            memo[key] = _render_problems(name, source, dict(variables))
        return memo[key]

    if plain is None:
        return rendered
    text, names = plain

    def assembled(variables: Mapping[str, Any]) -> list[str]:
        try:
            return _text_problems(name, text.format(*[variables.get(*n) for n in names]).strip())
        except TypeError:  # a variable without a default is missing: Jinja says which
            key = repr([var in variables for var in used])
        except ValueError:  # a value str() refuses (an int of 5,000 digits)
            return _render_problems(name, source, dict(variables))
        if key not in memo:
            memo[key] = _render_problems(name, source, dict(variables))
        return memo[key]

    return assembled


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"

    def __format__(self, spec: str) -> str:
        raise TypeError("undefined")  # as StrictUndefined makes Jinja raise


_MISSING: Any = _Missing()
_DEFAULTS = ("default", "d")


def _plain(source: str) -> tuple[str, list[tuple[str, Any]]] | None:
    """The template as a format string and its (variable, default) pairs, or ``None`` when
    it uses anything but text, variables and ``default('…')`` (tags, tests, other filters,
    expressions). ``format`` gives ``str(value)``, as Jinja outputs a value when it does
    not autoescape; a variable without a default raises, as StrictUndefined does."""
    text: list[str] = []
    names: list[tuple[str, Any]] = []
    for node in _env.parse(source).body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                text.append(child.data.replace("{", "{{").replace("}", "}}"))
                continue
            if isinstance(child, nodes.Name) and child.ctx == "load":
                names.append((child.name, _MISSING))
            elif (default := _default(child)) is not None:
                names.append(default)
            else:
                return None
            text.append("{}")
    return "".join(text), names


def _default(node: nodes.Node) -> tuple[str, str] | None:
    """``name | default('text')`` as (name, text), else ``None``."""
    if not (
        isinstance(node, nodes.Filter)
        and node.name in _DEFAULTS
        and isinstance(node.node, nodes.Name)
        and not (node.kwargs or node.dyn_args or node.dyn_kwargs)
        and len(node.args) <= 1
    ):
        return None
    if not node.args:
        return (node.node.name, "")
    arg = node.args[0]
    return (
        (node.node.name, arg.value)
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str)
        else None
    )


class Stage(enum.StrEnum):
    INVITE = "invite"
    CHECK_ACCEPTANCE = "check_acceptance"
    FOLLOW_UP = "follow_up"
    WITHDRAW = "withdraw"  # an invitation never accepted, taken back after some days


@dataclass(frozen=True)
class StageRef:
    """A stage of one journey; follow-ups carry their number (1-based)."""

    stage: Stage
    number: int = 0

    def __str__(self) -> str:
        return f"follow_up:{self.number}" if self.stage is Stage.FOLLOW_UP else self.stage.value

    @classmethod
    def parse(cls, text: str) -> StageRef:
        if text.startswith("follow_up:"):
            return cls(Stage.FOLLOW_UP, int(text.split(":", 1)[1]))
        return cls(Stage(text))


@dataclass(frozen=True)
class NextStep:
    """What follows a stage: another stage at ``due`` or an end with its status."""

    stage: StageRef | None
    due: datetime | None
    end: str | None = None  # completed | not_accepted


def after_invitation(spec: SequenceSpec, *, invited_at: datetime) -> NextStep:
    due = invited_at + timedelta(days=spec.acceptance_check_days)
    return NextStep(StageRef(Stage.CHECK_ACCEPTANCE), due)


def after_acceptance_check(
    spec: SequenceSpec, *, accepted: bool, invited_at: datetime, now: datetime
) -> NextStep:
    if not accepted:
        return NextStep(None, None, end="not_accepted")
    return follow_up(spec, 1, invited_at=invited_at, now=now)


def after_follow_up(
    spec: SequenceSpec, number: int, *, invited_at: datetime, now: datetime
) -> NextStep:
    if number >= len(spec.follow_up_days):
        return NextStep(None, None, end="completed")
    return follow_up(spec, number + 1, invited_at=invited_at, now=now)


def follow_up(spec: SequenceSpec, number: int, *, invited_at: datetime, now: datetime) -> NextStep:
    """Follow-up ``number`` on its day, counted from the invitation; never in the past."""
    due = invited_at + timedelta(days=spec.follow_up_days[number - 1])
    return NextStep(StageRef(Stage.FOLLOW_UP, number), max(due, now))


def waiting_for(stage: StageRef) -> str:
    """How the dashboard says what a journey waits for."""
    if stage.stage is Stage.INVITE:
        return "its turn to be invited"
    if stage.stage is Stage.WITHDRAW:
        return "withdrawing the unanswered invitation"
    if stage.stage is Stage.CHECK_ACCEPTANCE:
        return "acceptance check"
    return f"follow-up {stage.number}"
