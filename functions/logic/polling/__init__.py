"""Scheduled polling: Klavi's pull queue, and incremental syncs of VAI's and Exa's event lists."""

from functions.errors import EventSpilled, MalformedPage
from functions.logic.polling.model import PollServices, PollSummary, RunBudget, RunOutcome
from functions.logic.polling.recovery import ReplayReport, restore_spilled
from functions.logic.polling.run import backfill, run_poll

__all__ = [
    "EventSpilled",
    "MalformedPage",
    "PollServices",
    "PollSummary",
    "ReplayReport",
    "RunBudget",
    "RunOutcome",
    "backfill",
    "restore_spilled",
    "run_poll",
]
