"""The sandbox's courier: the simulator's replies, handed to the app as a webhook would."""

from __future__ import annotations

from outreach.replies.service import Inbound, handle_inbound
from outreach.runtime import Runtime


def deliver_replies(rt: Runtime) -> int:
    """Deliver the replies that became visible since the last round; how many."""
    simulator = rt.simulator
    assert simulator is not None, "only started when the sandbox drives LinkedIn"
    due = simulator.due_inbound()
    for item in due:
        handle_inbound(
            rt,
            Inbound(item.account, item.provider_id, item.message_id, item.text, item.at, "sandbox"),
        )
    if due:
        simulator.mark_delivered([item.message_id for item in due])
    return len(due)
