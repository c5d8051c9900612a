"""The queues and schedules Outreach declares, in one place."""

from __future__ import annotations

# Every LinkedIn action of a journey runs as a stage workflow on this queue, partitioned
# by sender account.
ACTIONS_QUEUE = "outreach-actions"
# Unipile advises at least 10-20 s between two actions of one account.
MIN_ACTION_SPACING_SIM_SECONDS = 15.0
SWEEP_SCHEDULE = "outreach-sweep"
