"""The receiving end of Unipile's webhooks: ``POST /api/webhooks/unipile``.

Unipile signs nothing; it sends back the static ``Unipile-Auth`` header we registered,
so that header is the only proof of origin and nothing is accepted without it. Each
delivery is authenticated and parsed, stored in ``webhook_deliveries`` (``received``,
once per event: a second delivery of one is kept as ``duplicate``) and answered once that
write is committed: ``outreach.replies.intake`` writes the deliveries arriving together in
one short transaction, and processes each one after, handing it to
``outreach.replies.service`` in its own. Unipile waits 30 s for the answer, then retries.
A payload we cannot use is answered with a 4xx and kept as ``rejected``, and so is one
refused for its ``Unipile-Auth`` header (its first 64 KB); a failure to store answers 500,
without its text, so that Unipile delivers it again.
Text that is not valid Unicode (a lone ``\ud800`` escape) is kept with U+FFFD in its
place: a reply must not be lost over one bad character.
"""

from __future__ import annotations

import hmac
import logging
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from outreach.errors import ErrorBody, OutreachError, Unauthorized
from outreach.replies.intake import RECEIVED, Delivery, Intake
from outreach.replies.unipile_events import (
    AccountStatusChange,
    MessageReceived,
    NewRelation,
    admit,
    event_name,
    stored_text,
)
from outreach.runtime import Runtime
from outreach.web.deps import body_schema, get_runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

AUTH_HEADER = "Unipile-Auth"
SOURCE = "unipile"

KEPT_UNAUTHENTICATED = 64 * 1024  # bytes of a refused delivery's body kept
Answer = Literal["accepted", "duplicate", "ignored", "rejected", "failed"]


class WebhooksDisabled(OutreachError):
    status_code = 403  # kept as rejected: nothing is lost, and nothing is accepted without a secret
    code = "webhooks_disabled"


def authenticate(expected: str | None, given: str | None) -> None:
    """Compare the ``Unipile-Auth`` header in constant time; refuse all without a secret."""
    if not expected:
        raise WebhooksDisabled(
            "webhooks are disabled: set OUTREACH_WEBHOOK_SECRET and register it with "
            "`outreach unipile webhooks`"
        )
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(f"missing or wrong {AUTH_HEADER} header")


class DeliveryAnswer(BaseModel):
    """What became of a delivery (it is kept in ``webhook_deliveries`` either way):
    ``accepted`` is stored, to be processed after."""

    outcome: Answer
    detail: str | None = None


@router.post(
    "/unipile",
    summary="Receive a Unipile webhook (message, new relation, account status)",
    response_model=DeliveryAnswer,
    responses={
        400: {"model": DeliveryAnswer, "description": "Not a JSON object"},
        401: {"model": ErrorBody, "description": "No or a wrong `Unipile-Auth` header"},
        413: {"model": ErrorBody, "description": "Over 1 MB"},
        422: {"model": DeliveryAnswer, "description": "An event we cannot use"},
        403: {"model": ErrorBody, "description": "No webhook secret is configured"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": body_schema(MessageReceived | NewRelation | AccountStatusChange)
                }
            },
        }
    },
)
async def receive_unipile(request: Request, rt: Runtime = Depends(get_runtime)) -> JSONResponse:
    """Authenticate and parse one delivery; answer once it is stored."""
    body = await request.body()
    secret = rt.settings.webhook_secret
    intake = _intake(request, rt)
    try:
        authenticate(
            secret.get_secret_value() if secret else None, request.headers.get(AUTH_HEADER)
        )
    except OutreachError as refused:
        kept = stored_text(body[:KEPT_UNAUTHENTICATED])
        await intake.store(Delivery(event_name(body), "rejected", kept, error=refused.message))
        raise
    delivery, status_code = admit(body)
    try:
        stored = await intake.store(delivery)
    except Exception:  # answered 500 so that Unipile delivers it again
        log.exception("a webhook delivery could not be stored")
        failed = {"outcome": "failed", "detail": "internal error (logged)"}
        return JSONResponse(failed, status_code=500)
    content: dict[str, str | None]
    if not stored:
        content = {"outcome": "duplicate", "detail": "already received"}
    elif delivery.outcome == RECEIVED:
        content = {"outcome": "accepted", "detail": None}
    else:
        content = {"outcome": delivery.outcome, "detail": delivery.error}
    return JSONResponse(content, status_code=status_code)


def _intake(request: Request, rt: Runtime) -> Intake:
    """The app's intake (one per app: its batches belong to the app's event loop)."""
    intake: Intake | None = getattr(request.app.state, "webhook_intake", None)
    if intake is None:
        intake = Intake(rt.sessions, rt.clock, SOURCE, wake=rt.webhooks_wanted)
        request.app.state.webhook_intake = intake
    return intake
