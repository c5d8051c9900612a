"""The built-in drafter: an answer per intent of the reply, from a text each campaign can
change (``Templates.answers``), rendered for the prospect like the follow-ups.

The reply's own words never reach a template as template source: what the classifier
took from it (a return date, a person's name, the question) is passed as a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from outreach.campaigns.sequence import ANSWERED_INTENTS, MESSAGE_LIMIT, Templates, render
from outreach.models import ReplyIntent
from outreach.replies.classify import Classification

DRAFTER = "templates-v1"

DEFAULT_ANSWERS: dict[str, str] = {
    ReplyIntent.INTERESTED: (
        "Great to hear, {{ first_name | default('there') }}! Would a 20-minute call next week "
        "work? Tell me a day and a time that suit you and I will send an invitation."
    ),
    ReplyIntent.QUESTION: (
        "Thanks for asking, {{ first_name | default('there') }}. The short answer depends on "
        "how {{ company | default('your team') }} works today: could we take 15 minutes so I "
        "can answer it properly? Otherwise I am happy to write it up here."
    ),
    ReplyIntent.LATER: (
        "Understood, {{ first_name | default('there') }}, thanks for letting me know. I will "
        "check back in a few months; if anything changes before then, just reply here."
    ),
    ReplyIntent.OUT_OF_OFFICE: (
        "Thanks for the note. I will pick this up "
        "{{ ('after ' ~ return_date) if return_date is defined else 'when you are back' }}."
    ),
    ReplyIntent.REFERRAL: (
        "Thank you, {{ first_name | default('there') }}! I will reach out to "
        "{{ referral | default('them') }}. May I mention that you suggested it?"
    ),
    ReplyIntent.WRONG_PERSON: (
        "Sorry for the mix-up, {{ first_name | default('there') }}, and thanks for telling me. "
        "Who would be the right person at {{ company | default('your company') }} to talk to "
        "about this?"
    ),
    ReplyIntent.OTHER: (
        "Thanks for your reply, {{ first_name | default('there') }}! Would a short call be "
        "useful, or would you rather I sent a few lines here?"
    ),
}
assert set(DEFAULT_ANSWERS) == set(ANSWERED_INTENTS)


@dataclass(frozen=True)
class Proposal:
    """A drafted answer and where it came from (stored on the draft as its provenance)."""

    text: str
    intent: ReplyIntent
    provenance: dict[str, Any]


def answer_variables(variables: dict[str, Any], read: Classification) -> dict[str, Any]:
    """The prospect's fields and what the reply gave (each only when it gave it)."""
    extra: dict[str, Any] = {}
    if read.return_date is not None:
        extra["return_date"] = _day(read.return_date)
    if read.referral:
        extra["referral"] = read.referral
    if read.question:
        extra["question"] = read.question
    return variables | extra


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def draft(templates: Templates, variables: dict[str, Any], read: Classification) -> Proposal | None:
    """The built-in answer to a reply read as ``read``, or ``None`` for an intent that gets
    none (unsubscribe, not interested). A campaign's text that no longer renders falls back
    to the built-in one, and the provenance says why."""
    intent = read.intent
    if intent.value not in ANSWERED_INTENTS:
        return None
    values = answer_variables(variables, read)
    provenance: dict[str, Any] = {
        "drafter": DRAFTER,
        "classifier": read.classifier,
        "confidence": read.confidence,
        "template": "campaign" if intent.value in templates.answers else "built-in",
        "cost_usd": 0.0,
    }
    source = templates.answers.get(intent.value, DEFAULT_ANSWERS[intent.value])
    try:
        text = render(source, values)
    except ValueError as exc:  # TemplateProblem
        provenance |= {"template": "built-in", "fallback": f"the campaign's text failed: {exc}"}
        text = render(DEFAULT_ANSWERS[intent.value], values)
    return Proposal(text[:MESSAGE_LIMIT], intent, provenance)
