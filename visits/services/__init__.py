"""Every write in the visits app: typed, atomic and logged."""

from .polls import (
    PollLinkError,
    invitee_from_token,
    poll_answer,
    poll_open,
    poll_token,
    polls_lock,
)
from .schedule import schedule_accept, schedule_propose
from .visits import (
    attendee_add,
    attendee_remove,
    task_assign,
    task_complete,
    visit_cancel,
    visit_choose_date,
    visit_confirm,
    visit_mark_happened,
    visit_missing_roles,
    visit_update,
    visits_create_for_pairing,
    visits_create_rotation,
)

__all__ = [
    "PollLinkError",
    "attendee_add",
    "attendee_remove",
    "invitee_from_token",
    "poll_answer",
    "poll_open",
    "poll_token",
    "polls_lock",
    "schedule_accept",
    "schedule_propose",
    "task_assign",
    "task_complete",
    "visit_cancel",
    "visit_choose_date",
    "visit_confirm",
    "visit_mark_happened",
    "visit_missing_roles",
    "visit_update",
    "visits_create_for_pairing",
    "visits_create_rotation",
]
