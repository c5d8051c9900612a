"""Which sender a new prospect gets: a pure rotation that balances remaining capacity.

A prospect keeps its sender for life (a conversation never changes voice), so the
choice is made once, when its journey is created: each new prospect goes to the
sender whose queue of invitations, counted in days of its own capacity, is shortest.
Paused senders get no one new while another sender can take them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SenderLoad:
    sender: int
    capacity: int  # invitations a week it may send now (caps and warm-up)
    queued: int  # invitations waiting for it already, across all its campaigns
    available: bool = True  # not paused


def assign_senders(count: int, loads: Sequence[SenderLoad]) -> list[int]:
    """A sender for each of ``count`` new prospects, in order."""
    if not loads:
        raise ValueError("a campaign needs at least one sender")
    usable = [load for load in loads if load.available] or list(loads)
    heap = [((load.queued + 1) / max(1, load.capacity), load.sender, load) for load in usable]
    heapq.heapify(heap)
    assigned: list[int] = []
    for _ in range(count):
        _, sender, load = heapq.heappop(heap)
        assigned.append(sender)
        queued = load.queued + 1
        load = SenderLoad(sender, load.capacity, queued, load.available)
        heapq.heappush(heap, ((queued + 1) / max(1, load.capacity), sender, load))
    return assigned
