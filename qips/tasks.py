"""Celery beat jobs for improvement plans and the core team's digest: each calls one service
and returns what it did. The reminder ledger makes a repeated run send nothing new."""

from dataclasses import asdict

from celery import shared_task

from . import digest, reminders


@shared_task
def send_qip_reminders() -> dict:
    return asdict(reminders.qip_reminders_send())


@shared_task
def send_progress_reminders() -> dict:
    return asdict(reminders.progress_reminders_send())


@shared_task
def send_action_plan_reminders() -> dict:
    """A review's action plans: each action due soon or overdue, and each next review."""
    actions = reminders.action_reminders_send()
    reviews = reminders.action_plan_review_reminders_send()
    return {name: getattr(actions, name) + getattr(reviews, name)
            for name in asdict(actions)}


@shared_task
def send_core_team_digests() -> dict:
    return asdict(digest.core_team_digests_send())
