"""Faults injected into the simulator: transient errors, broken accounts and recipients.

Transient errors are drawn from a seeded RNG, so a run with the same seed and the same
calls fails at the same calls. The state is in memory, per ``Simulator`` instance.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from outreach.linkedin.provider import AccountError, RecipientError, TransientError

TRANSIENT_CODES = ("too_many_requests", "provider_error", "service_unavailable")


@dataclass
class Faults:
    """Injected failures; the transient ones drawn from a seeded RNG, so runs repeat."""

    rng: random.Random
    base_rate: float
    transient_rate: float | None = None
    disconnected: set[str] = field(default_factory=set)
    restricted: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    limits: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, account: str | None, slug: str | None = None, *, sending: bool = False) -> None:
        """Raise the failure this call meets, transient ones first."""
        with self.lock:
            rate = self.base_rate if self.transient_rate is None else self.transient_rate
            if rate > 0 and self.rng.random() < rate:
                code = self.rng.choice(TRANSIENT_CODES)
                retry_after = 1.0 if code == "too_many_requests" else None
                raise TransientError(f"sandbox: {code}", code=code, retry_after=retry_after)
            if account in self.disconnected:
                raise AccountError(
                    f"sandbox: {account} is disconnected", code="disconnected_account"
                )
            if account in self.restricted:
                raise AccountError(f"sandbox: {account} is restricted", code="account_restricted")
            if slug is not None and slug in self.invalid:
                raise RecipientError(f"sandbox: {slug} is unreachable", code="invalid_recipient")
            if sending and account in self.limits:
                code = self.limits[account]
                raise AccountError(f"sandbox: {account}: {code}", code=code, until_tomorrow=True)

    def reset(self) -> None:
        """Back to the base error rate, with no account or recipient fault."""
        with self.lock:
            self.transient_rate = None
            self.disconnected.clear()
            self.restricted.clear()
            self.invalid.clear()
            self.limits.clear()
