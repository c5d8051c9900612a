"""The reply agent's language model: one call reads a reply and drafts the answer.

The prompt is a versioned file of the repository (``prompts/reply-v1.md``); the reply
travels as a field of a JSON document in the user message, never inside the prompt, and
the prompt tells the model that those words are data. The model answers with structured
output (OpenAI's ``json_schema`` response format, which OpenAI-compatible servers speak;
a forced tool call with Anthropic), validated against ``Reading``. Whatever else comes
back (an error, a timeout after the SDK's retries, malformed output, an answer that
repeats the prompt) is a ``ModelFailed`` with a reason in our own words, and the agent
drafts with the built-in drafter instead. Each call is recorded (``ModelCall``) with its
tokens and cost; once the day's budget is spent no call is made until the next UTC day.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from outreach.campaigns.sequence import ANSWERED_INTENTS, MESSAGE_LIMIT
from outreach.clock import wall_now
from outreach.config import Settings
from outreach.models import ModelCall, ReplyIntent

PROMPT_VERSION = "reply-v1"
PROMPT = files("outreach.replies").joinpath("prompts", f"{PROMPT_VERSION}.md").read_text()
TOOL = "record_reading"
MAX_OUTPUT_TOKENS = 800


class Reading(BaseModel):
    """What the model made of a reply, and the answer it drafted."""

    model_config = ConfigDict(extra="forbid")
    intent: ReplyIntent
    confidence: float = Field(ge=0, le=1)
    answer: str = Field(max_length=MESSAGE_LIMIT)
    return_date: date | None = None
    referral: str | None = Field(default=None, max_length=200)
    question: str | None = Field(default=None, max_length=2000)


# Strict-mode JSON schema (every field required, nulls spelled out), which OpenAI's
# structured outputs and Anthropic's tool input both accept.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["intent", "confidence", "answer", "return_date", "referral", "question"],
    "properties": {
        "intent": {"type": "string", "enum": [intent.value for intent in ReplyIntent]},
        "confidence": {"type": "number"},
        "answer": {"type": "string"},
        "return_date": {"type": ["string", "null"]},
        "referral": {"type": ["string", "null"]},
        "question": {"type": ["string", "null"]},
    },
}


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def cost(self, settings: Settings) -> float:
        return (
            self.input_tokens * settings.llm_usd_per_million_input
            + self.output_tokens * settings.llm_usd_per_million_output
        ) / 1_000_000


class ModelFailed(Exception):
    """The model gave no usable reading; ``reason`` says why, in our words (no secrets,
    no provider text)."""

    def __init__(self, reason: str, usage: Usage | None = None, outcome: str = "failed"):
        super().__init__(reason)
        self.reason = reason
        self.usage = usage or Usage()
        self.outcome = outcome


def document(reply: str, prospect: dict[str, Any], today: date) -> str:
    """The user message: the reply and what we know of its author, as data."""
    known = {k: str(v) for k, v in prospect.items() if k in _PROSPECT_FIELDS and v}
    return json.dumps(
        {"reply": reply, "prospect": known, "today": today.isoformat()}, ensure_ascii=False
    )


_PROSPECT_FIELDS = ("first_name", "last_name", "company", "headline", "location")


def ask(
    settings: Settings, reply: str, prospect: dict[str, Any], today: date
) -> tuple[Reading, Usage]:
    """One reading of ``reply`` by the configured model (``ModelFailed`` if none)."""
    content = document(reply, prospect, today)
    if settings.llm_provider == "anthropic":
        raw, usage = _anthropic(settings, content)
    else:
        raw, usage = _openai(settings, content)
    try:
        reading = Reading.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "output"
        raise ModelFailed(
            f"malformed output ({where}: {first['msg']})", usage, "malformed"
        ) from None
    if repeats_prompt(reading.answer):
        raise ModelFailed("the answer repeats the prompt's words", usage, "malformed")
    return reading, usage


@cache
def _openai_client(base_url: str | None, key: str, timeout: float, retries: int) -> Any:
    from openai import OpenAI

    return OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=retries)


@cache
def _anthropic_client(base_url: str | None, key: str, timeout: float, retries: int) -> Any:
    from anthropic import Anthropic

    return Anthropic(api_key=key, base_url=base_url, timeout=timeout, max_retries=retries)


def _client_options(settings: Settings) -> tuple[str | None, str, float, int]:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none"
    return settings.llm_base_url, key, settings.llm_timeout_seconds, settings.llm_retries


def _openai(settings: Settings, content: str) -> tuple[Any, Usage]:
    import openai

    client = _openai_client(*_client_options(settings))
    try:
        completion = client.chat.completions.create(
            model=settings.llm_model,
            messages=[
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": content},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": TOOL, "strict": True, "schema": SCHEMA},
            },
            temperature=0.2,
            max_completion_tokens=MAX_OUTPUT_TOKENS,
        )
    except openai.APIError as exc:
        raise ModelFailed(_failure(exc, settings)) from None
    usage = Usage(
        completion.usage.prompt_tokens if completion.usage else 0,
        completion.usage.completion_tokens if completion.usage else 0,
    )
    message = completion.choices[0].message if completion.choices else None
    if message is None or not message.content:
        refused = message is not None and getattr(message, "refusal", None)
        raise ModelFailed("the model refused" if refused else "empty output", usage, "malformed")
    try:
        return json.loads(message.content), usage
    except json.JSONDecodeError:
        raise ModelFailed("the output is not JSON", usage, "malformed") from None


def _anthropic(settings: Settings, content: str) -> tuple[Any, Usage]:
    import anthropic

    client = _anthropic_client(*_client_options(settings))
    try:
        message = client.messages.create(
            model=settings.llm_model,
            max_tokens=MAX_OUTPUT_TOKENS,
            system=PROMPT,
            messages=[{"role": "user", "content": content}],
            tools=[
                {
                    "name": TOOL,
                    "description": "Record the reading of the reply and the drafted answer.",
                    "input_schema": SCHEMA,
                }
            ],
            tool_choice={"type": "tool", "name": TOOL},
        )
    except anthropic.APIError as exc:
        raise ModelFailed(_failure(exc, settings)) from None
    usage = Usage(message.usage.input_tokens, message.usage.output_tokens)
    block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL), None)
    if block is None:
        raise ModelFailed("no reading in the output", usage, "malformed")
    return block.input, usage


def _failure(exc: Exception, settings: Settings) -> str:
    """Why a call failed, from the exception's type and status only (its text may hold
    what the provider echoed of the request)."""
    status = getattr(exc, "status_code", None)
    retries = settings.llm_retries
    if "Timeout" in type(exc).__name__:
        return f"timed out after {settings.llm_timeout_seconds:g} s ({retries} retries)"
    if status is not None:
        return f"the provider answered HTTP {status} ({retries} retries)"
    return f"the provider could not be reached ({retries} retries)"


# -- what the answer may not hold -----------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9']+")
SHINGLE = 6  # this many words of the prompt in a row, in an answer, is a leak


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


_PROMPT_SHINGLES = _shingles(PROMPT)


def repeats_prompt(answer: str) -> bool:
    """Whether ``answer`` holds six words of the prompt in a row."""
    return not _PROMPT_SHINGLES.isdisjoint(_shingles(answer))


# -- the day's spend ------------------------------------------------------------------------


def spent_today(session: Session, now: datetime | None = None) -> float:
    """Dollars spent on model calls since midnight UTC (wall clock)."""
    now = now or wall_now()
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ModelCall.cost_usd), 0.0)).where(
            ModelCall.at >= midnight, ModelCall.at < midnight + timedelta(days=1)
        )
    ).scalar_one()
    return float(total)


def record_call(
    session: Session,
    settings: Settings,
    *,
    inbound_id: int | None,
    usage: Usage,
    outcome: str,
    error: str | None = None,
) -> float:
    """Record one call and what it cost; the cost."""
    cost = usage.cost(settings)
    session.add(
        ModelCall(
            at=wall_now(),
            inbound_id=inbound_id,
            provider=settings.llm_provider or "",
            model=settings.llm_model or "",
            prompt_version=PROMPT_VERSION,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
            outcome=outcome,
            error=error,
        )
    )
    return cost


def ask_within_budget(
    sessions: sessionmaker[Session],
    settings: Settings,
    reply: str,
    prospect: dict[str, Any],
    today: date,
    inbound_id: int | None = None,
) -> tuple[Reading, Usage, float]:
    """``ask``, unless the day's budget is spent; the call recorded with its cost either
    way (a malformed answer costs what a good one does). The reading, usage and cost."""
    with sessions() as session:
        spent = spent_today(session)
    if spent >= settings.llm_daily_budget_usd:
        raise ModelFailed(
            f"the day's model budget is spent (${spent:.2f} of "
            f"${settings.llm_daily_budget_usd:.2f})"
        )
    try:
        reading, usage = ask(settings, reply, prospect, today)
    except ModelFailed as failed:
        with sessions.begin() as session:
            record_call(
                session,
                settings,
                inbound_id=inbound_id,
                usage=failed.usage,
                outcome=failed.outcome,
                error=failed.reason,
            )
        raise
    with sessions.begin() as session:
        cost = record_call(session, settings, inbound_id=inbound_id, usage=usage, outcome="ok")
    return reading, usage, cost


def provenance(settings: Settings) -> dict[str, Any]:
    """Which model and prompt a draft came from (or was to come from)."""
    return {
        "provider": settings.llm_provider,
        "model": settings.llm_model,
        "prompt_version": PROMPT_VERSION,
    }


def answers(reading: Reading) -> bool:
    """Whether the model's reading gets an answer at all."""
    return reading.intent.value in ANSWERED_INTENTS and bool(reading.answer.strip())
