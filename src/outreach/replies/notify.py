"""Announcing a new draft to a webhook: a generic JSON body, or Slack's incoming-webhook
format. A prospect's words are data in both: JSON strings, and Slack text with its three
control characters escaped (so a reply cannot ping a channel or forge a link)."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from outreach.models import InboundMessage, Journey, ReplyDraft

TIMEOUT = httpx.Timeout(10.0)
QUOTED = 500  # characters of the reply and the draft an announcement carries


class AnnouncementFailed(RuntimeError):
    pass


def _clip(text: str) -> str:
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def _name(journey: Journey) -> str:
    p = journey.prospect
    return " ".join(n for n in (p.first_name, p.last_name) if n) or p.public_identifier


def body(
    kind: Literal["json", "slack"],
    draft: ReplyDraft,
    journey: Journey,
    reply: InboundMessage,
    public_url: str | None,
) -> dict[str, Any]:
    link = f"{public_url.rstrip('/')}/journeys/{journey.id}" if public_url else None
    if kind == "slack":
        return _slack(draft, journey, reply, link)
    prospect = journey.prospect
    return {
        "event": "draft.ready",
        "draft_id": draft.id,
        "journey_id": journey.id,
        "campaign_id": journey.campaign_id,
        "intent": draft.intent.value,
        "prospect": {
            "name": _name(journey),
            "company": prospect.company,
            "profile_url": prospect.profile_url,
        },
        "reply": _clip(reply.text),
        "draft": _clip(draft.text),
        "expires_at": draft.expires_at.isoformat(),
        "url": link,
    }


def slack_escape(text: str) -> str:
    """Slack's escaping of message text: ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in slack_escape(_clip(text)).splitlines() or [""])


def _slack(
    draft: ReplyDraft, journey: Journey, reply: InboundMessage, link: str | None
) -> dict[str, Any]:
    who = slack_escape(_name(journey))
    intent = draft.intent.value.replace("_", " ")
    title = f"New reply from {who} ({intent}): a draft waits for your approval"
    lines = [f"*{title}*", _quote(reply.text), "*Draft:*", _quote(draft.text)]
    if link:
        lines.append(f"<{link}|Open it in Outreach>")
    return {
        "text": title,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


def post(url: str, payload: dict[str, Any]) -> None:
    """POST the announcement; anything but a 2xx raises (the URL never in the message)."""
    try:
        response = httpx.post(url, json=payload, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise AnnouncementFailed(
            f"the notification webhook did not answer: {type(exc).__name__}"
        ) from None
    if not response.is_success:
        raise AnnouncementFailed(f"the notification webhook answered {response.status_code}")
