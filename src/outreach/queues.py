"""The queues and schedules Outreach declares, in one place."""

from __future__ import annotations

# Every LinkedIn action of a journey runs as a stage workflow on this queue (not
# partitioned: the governor starts one stage per sender at a time, and spaces them).
ACTIONS_QUEUE = "outreach-actions"
SWEEP_SCHEDULE = "outreach-sweep"
