"""A person's data: everything we hold about them on request, and anonymising them on leaving.

UK GDPR Article 15 (right of access) and Article 17 (erasure) as the ICO describes them: a
person may have a copy of their personal data, and when they leave we remove what identifies
them while keeping the programme's records (plans, notes, reports, the activity log) whole,
because those are the programme's record of what happened, not the person's data.

A person's data is spread over every app, and ilcop imports no app, so each app registers
its part from its AppConfig.ready, as ilcop.exports does for datasets:
- ``register_section(title, collect)``: collect(user) -> a list of plain dicts for the export;
- ``register_anonymiser(anonymise)``: anonymise(user, old_name=, old_email=, placeholder=,
  email=) scrubs that app's copies of the name and address and returns the objects (programmes,
  sites) whose timelines should record that the person was anonymised.
docs/privacy.md says who may do what and why.
"""

import datetime
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .activity import log_action
from .models import ActivityLog, Notification, User

FORMER = "Former participant"
ANONYMISED_DOMAIN = "invalid"  # RFC 2606 reserves .invalid: mail to it can never be delivered

Collector = Callable[[User], list[dict[str, Any]]]
Anonymiser = Callable[..., Iterable[models.Model]]

_sections: dict[str, Collector] = {}
_anonymisers: list[Anonymiser] = []


def register_section(title: str, collect: Collector) -> None:
    if title in _sections:
        raise ValueError(f"A personal data section named {title!r} is already registered")
    _sections[title] = collect


def register_anonymiser(anonymise: Anonymiser) -> None:
    if anonymise not in _anonymisers:
        _anonymisers.append(anonymise)


def rows(queryset: models.QuerySet, *fields: str) -> list[dict[str, Any]]:
    """A section's rows: the named fields (lookups allowed) of each row, in plain values."""
    return [{key: plain(value) for key, value in row.items()}
            for row in queryset.values(*fields)]


def plain(value: Any) -> Any:
    """A stored value as JSON writes it: moments in UTC ISO 8601, dates as YYYY-MM-DD."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def placeholder_name(user: User) -> str:
    return f"{FORMER} {user.pk}"


def is_anonymised(user: User) -> bool:
    return user.email.endswith(f"@{ANONYMISED_DOMAIN}")


# --- The export ---------------------------------------------------------------------------

def _account(user: User) -> list[dict[str, Any]]:
    return [{"id": user.pk, "email": user.email, "full_name": user.full_name,
             "job_title": user.job_title, "active": user.is_active, "staff": user.is_staff,
             "joined": plain(user.date_joined), "last_sign_in": plain(user.last_login),
             "email_preferences": user.reminder_emails,
             "email_preferences_meaning": user.get_reminder_emails_display()}]


def _email_addresses(user: User) -> list[dict[str, Any]]:
    from allauth.account.models import EmailAddress

    return rows(EmailAddress.objects.filter(user=user).order_by("pk"),
                "email", "verified", "primary")


def _two_step(user: User) -> list[dict[str, Any]]:
    # The kind and dates only: the secrets themselves would let anyone holding the file
    # pass the second step.
    from allauth.mfa.models import Authenticator

    return rows(Authenticator.objects.filter(user=user).order_by("pk"),
                "type", "created_at", "last_used_at")


def _emails_sent(user: User) -> list[dict[str, Any]]:
    return rows(Notification.objects.filter(recipient=user).order_by("created_at", "pk"),
                "kind", "programme_name", "summary", "due_on", "held_for_digest", "created_at",
                "sent_at")


def _activity(user: User) -> list[dict[str, Any]]:
    return rows(ActivityLog.objects.filter(actor=user).order_by("created_at", "pk"),
                "created_at", "verb", "object_repr", "summary", "data")


register_section("Account", _account)
register_section("Email addresses", _email_addresses)
register_section("Two-step sign-in", _two_step)
register_section("Reminders and emails sent to you", _emails_sent)
register_section("Things you did (activity log)", _activity)


def person_data(*, user: User) -> dict[str, Any]:
    """Everything the product holds about one person, section by section."""
    return {
        "about": "The personal data the peer review programmes service holds about you, made "
                 "on request. Times are in UTC (ISO 8601).",
        "made_at": plain(timezone.now()),
        "person_id": user.pk,
        "sections": {title: collect(user) for title, collect in _sections.items()},
    }


def person_data_json(*, user: User) -> bytes:
    return json.dumps(person_data(user=user), indent=2, ensure_ascii=False).encode()


# --- Anonymising ---------------------------------------------------------------------------

def replace_text(text: str, old: Iterable[str], new: Iterable[str]) -> str:
    """Whole words only, ignoring case: "Ann Lee" must not turn "Ann Leeson" into
    "Former participant 12son"."""
    for before, after in zip(old, new, strict=True):
        if before:
            pattern = re.compile(rf"(?<!\w){re.escape(before)}(?!\w)", re.IGNORECASE)
            text = pattern.sub(lambda _match, after=after: after, text)
    return text


def _replace_in(value: Any, old: Iterable[str], new: Iterable[str]) -> Any:
    old, new = list(old), list(new)
    if isinstance(value, str):
        return replace_text(value, old, new)
    if isinstance(value, list):
        return [_replace_in(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace_in(item, old, new) for key, item in value.items()}
    return value


def _their_part_of_the_log(user: User) -> Q:
    """The log entries that can be about this person: theirs, about their account, or filed
    under a programme or site they took part in. A namesake elsewhere keeps their name.

    ilcop imports no app (docs/architecture.md): the programmes and sites are reached through
    the reverse relations programmes' models declare. Read before anything is deleted."""
    programme_type = ContentType.objects.get_by_natural_key("programmes", "programme")
    site_type = ContentType.objects.get_by_natural_key("programmes", "site")
    sites = set(user.site_memberships.values_list("site_id", flat=True))
    programmes = set(user.core_memberships.values_list("programme_id", flat=True))
    programmes |= set(user.site_memberships.exclude(site__enrolments__isnull=True)
                      .values_list("site__enrolments__programme_id", flat=True))
    return (Q(actor=user)
            | Q(content_type=ContentType.objects.get_for_model(User), object_id=user.pk)
            | Q(scopes__content_type=programme_type, scopes__object_id__in=programmes)
            | Q(scopes__content_type=site_type, scopes__object_id__in=sites))


def _scrub_activity(*, within: Q, old_name: str, old_email: str, placeholder: str,
                    email: str) -> None:
    """Their name and address inside the log's summaries and details: "Invited Ada Okafor as
    CNS" becomes "Invited Former participant 12 as CNS". The entries stay; only the words that
    identify the person change."""
    needles = [text for text in (old_name, old_email) if text]
    if not needles:
        return
    match = Q()
    for text in needles:
        # JSONField stores "Zoë" as "Zo\\u00eb" on SQLite and as "Zoë" on PostgreSQL.
        escaped = json.dumps(text)[1:-1]
        match |= (Q(summary__icontains=text) | Q(object_repr__icontains=text)
                  | Q(data_text__icontains=text) | Q(data_text__icontains=escaped))
    entries = (ActivityLog.objects.filter(pk__in=ActivityLog.objects.filter(within).values("pk"))
               .annotate(data_text=Cast("data", TextField())).filter(match))
    old, new = (old_email, old_name), (email, placeholder)
    for entry in entries:
        entry.summary = replace_text(entry.summary, old, new)[:300]
        entry.object_repr = replace_text(entry.object_repr, old, new)[:200]
        entry.data = _replace_in(entry.data, old, new)
        entry.save(update_fields=["summary", "object_repr", "data"])


@transaction.atomic
def person_anonymise(*, user: User, by: User) -> User:
    """Remove what identifies ``user`` and close their account, keeping every record they are
    part of. Their foreign keys stay, so plans, notes, reports and the log still read, now as
    "Former participant <id>". Free text they wrote stays: it is the programme's record.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    user = User.objects.select_for_update().get(pk=user.pk)
    if is_anonymised(user):
        return user
    old_name, old_email = user.full_name.strip(), user.email
    their_log = _their_part_of_the_log(user)
    placeholder = placeholder_name(user)
    email = f"anonymised-{user.pk}@{ANONYMISED_DOMAIN}"

    user.full_name, user.email, user.job_title = placeholder, email, ""
    user.is_active = user.is_staff = user.is_superuser = False
    # An unusable password also ends every session they have: Django checks a session
    # against a hash of the password on each request (django.contrib.auth.get_user).
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    # Reminders still held for a digest would never go; those already sent stay in the
    # ledger, which records what was sent, not to which address.
    Notification.objects.filter(recipient=user, sent_at__isnull=True).delete()

    scopes: list[models.Model] = []
    for anonymise in _anonymisers:
        scopes.extend(anonymise(user, old_name=old_name, old_email=old_email,
                                placeholder=placeholder, email=email))
    _scrub_activity(within=their_log, old_name=old_name, old_email=old_email,
                    placeholder=placeholder, email=email)
    # Who anonymised whom, without the old name: the entry is about the placeholder.
    log_action(user, "person.anonymised", actor=by,
               summary=f"Anonymised {placeholder} on leaving", scopes=scopes)
    return user
