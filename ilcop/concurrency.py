"""Two safeguards for forms: an edit never silently overwrites someone else's, and a create
form sent twice saves once.

Edits (optimistic concurrency). An editable row carries a ``version`` integer. The edit form
sends back, in a hidden field, the version it was opened from. The service locks the row
(``select_for_update``), and if the version has moved on and the person's text differs from
what is now saved, it refuses with ``EditConflict``: nothing is written, and the page shows
both versions with the person's own text still in the form. The hidden field of that page
carries the new version, so saving again is a deliberate "save mine anyway". The bump itself
is a conditional UPDATE (``WHERE version = <read>``), which is race-free on PostgreSQL and on
SQLite alike. This is the "optimistic offline lock" of Fowler, Patterns of Enterprise
Application Architecture (2002), ch. 16.

Creates (one-time form tokens). ``{% form_token %}`` (ilcop/templatetags/concurrency.py)
puts a fresh random token in the form; ``@single_submission`` on the view records the token
in the same transaction as the write. A second POST with the same token (a double click the
browser let through, a retried request, the back button) finds it and is sent to where the
first one went, with "This was already saved", instead of making a duplicate. On PostgreSQL
two such POSTs at once meet at the token's unique index: the second waits for the first to
commit, then finds the token. Tokens are kept for ``REPLAY_WINDOW`` and purged lazily.
"""

import datetime
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django import forms
from django.contrib import messages
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from .models import FormToken

VERSION_FIELD = "version"
FORM_TOKEN_FIELD = "form_token"
REPLAY_WINDOW = datetime.timedelta(days=1)
ALREADY_SAVED = "This was already saved"


# --- edits -----------------------------------------------------------------------------------


class EditConflict(Exception):
    """Someone else saved the row since the form was opened; ``current`` is the row as saved."""

    def __init__(self, current: models.Model):
        super().__init__("Someone else changed this while you were editing")
        self.current = current


class VersionedFormMixin:
    """Adds the hidden "edited from version" field. Pass ``initial={"version": row.version}``
    when opening the form; a re-rendered conflict form is given the new version."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[VERSION_FIELD] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, min_value=0)

    def edited_version(self) -> int | None:
        return self.cleaned_data.get(VERSION_FIELD)

    def move_to_version(self, version: int) -> None:
        """After a conflict: the next save from this page is made knowing the new version."""
        self.data = self.data.copy()
        self.data[self.add_prefix(VERSION_FIELD)] = str(version)


def lock_for_edit(queryset: models.QuerySet, *, pk: int, version: int | None,
                  changes: dict) -> models.Model:
    """The row, locked until the transaction ends; ``EditConflict`` if it was saved since
    ``version`` and ``changes`` would overwrite something. ``version`` None (a form opened
    before versions existed, or a caller that is not a form) is not checked."""
    # of=self: the person named beside the version is read, not locked (nor can PostgreSQL
    # lock the nullable side of the outer join that reads them).
    current = queryset.select_for_update(of=("self",)).get(pk=pk)
    if version is not None and current.version != version and not unchanged(current, changes):
        raise EditConflict(current)
    return current


def unchanged(instance: models.Model, changes: dict) -> bool:
    """Whether saving ``changes`` (fields, and many-to-many lists) would change nothing."""
    for name, value in changes.items():
        saved = getattr(instance, name)
        if isinstance(saved, models.Manager):
            if {o.pk for o in saved.all()} != {o.pk for o in value or []}:
                return False
        elif saved != value:
            return False
    return True


def version_bump(instance: models.Model) -> None:
    """Move the row to its next version, in one UPDATE that only matches the version read.
    Call inside the transaction that writes the change, before writing it."""
    model = type(instance)
    if not model.objects.filter(pk=instance.pk, version=instance.version).update(
            version=F("version") + 1):
        raise EditConflict(model.objects.get(pk=instance.pk))
    instance.version += 1


@dataclass
class Difference:
    name: str
    label: str
    theirs: str
    yours: str


@dataclass
class Conflict:
    """What the conflict panel shows (templates/includes/conflict.html)."""

    changed_by: str
    changed_at: datetime.datetime | None
    differences: list[Difference]
    discard_url: str


def conflict_logged(entry, *, differences: list[Difference], discard_url: str,
                    changed_at: datetime.datetime | None = None) -> Conflict:
    """The panel for a conflict whose other save is known from the activity-log entry that
    recorded it (``entry``, None when there is none: "Someone else", at ``changed_at``)."""
    return Conflict(changed_by=str(entry.actor) if entry and entry.actor else "Someone else",
                    changed_at=entry.created_at if entry else changed_at,
                    differences=differences, discard_url=discard_url)


def _shown(field: forms.Field | None, value) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.date):
        return f"{value:%-d %B %Y}"
    if isinstance(value, models.Manager | models.QuerySet):
        value = list(value.all())
    if isinstance(value, list | tuple | set):
        return ", ".join(sorted(str(v) for v in value)) or "(none)"
    choices = dict(getattr(field, "choices", None) or []) if not isinstance(
        field, forms.ModelChoiceField) else {}
    return str(choices.get(value, value))


def differences(form: forms.BaseForm, current: models.Model,
                names: Iterable[str]) -> list[Difference]:
    """Each field where the person's unsaved value differs from the one now saved."""
    rows = []
    for name in names:
        theirs, yours = getattr(current, name), form.cleaned_data.get(name)
        if unchanged(current, {name: yours}):
            continue
        field = form.fields.get(name)
        rows.append(Difference(name=form.add_prefix(name),
                               label=str(field.label if field else name),
                               theirs=_shown(field, theirs), yours=_shown(field, yours)))
    return rows


# --- creates ---------------------------------------------------------------------------------


def new_form_token() -> str:
    return str(uuid.uuid4())


def _token(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get(FORM_TOKEN_FIELD, ""))
    except ValueError:
        return None


class _Replayed(Exception):
    pass


def _error_messages(request: HttpRequest) -> int:
    """How many error messages this request has queued so far. Read from the storage's queue
    rather than by iterating it, which would mark them as shown and lose them."""
    storage = getattr(request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return sum(1 for message in queued if message.level >= messages.ERROR)


def single_submission(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run a create view's POST at most once per form token. A POST without a token (a page
    opened before the token existed) runs as before."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        token = _token(request) if request.method == "POST" else None
        if token is None:
            return view(request, *args, **kwargs)
        user = request.user if request.user.is_authenticated else None
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        spent = FormToken.objects.create(token=token, user=user)
                except IntegrityError:
                    raise _Replayed from None
                errors_before = _error_messages(request)
                response = view(request, *args, **kwargs)
                saved = _error_messages(request) == errors_before
                if saved and 300 <= response.status_code < 400 and response.get("Location"):
                    FormToken.objects.filter(pk=spent.pk).update(
                        result_url=response["Location"][:500])
                else:
                    # A form shown again with its errors, or sent back with an error message
                    # (a blank title, a service's ValidationError), saved nothing: the token
                    # may be tried again once the person has put it right.
                    spent.delete()
                FormToken.objects.filter(
                    created_at__lt=timezone.now() - REPLAY_WINDOW).delete()
            return response
        except _Replayed:
            earlier = FormToken.objects.filter(token=token).first()
            # Someone else's token: do not reveal where it led.
            if earlier is None or earlier.user_id != (user.pk if user else None):
                messages.info(request, ALREADY_SAVED)
                return redirect("/")
            messages.info(request, ALREADY_SAVED)
            return redirect(earlier.result_url or "/")

    return wrapped
