from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev"}


class ReminderEmails(models.TextChoices):
    IMMEDIATE = "immediate", "Send each reminder when it is due"
    WEEKLY = "weekly", "Gather my reminders into one email each Monday"


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email is the login; there is no username."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    # Staff may use the Django admin and may create programmes.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Reminders as they fall due, or gathered into one email on Monday mornings. Messages
    # that must arrive on time (a visit report, a poll about to close, a visit in two days)
    # are always sent at once: ilcop.notifications.notify(must_send=True).
    reminder_emails = models.CharField(
        max_length=20, choices=ReminderEmails.choices, default=ReminderEmails.IMMEDIATE)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        """How an email greets them: "Dear Ada", but "Dear Dr Ada Okafor" rather than the
        "Dear Dr" that taking the first word would give."""
        if not self.full_name:
            return self.email
        first = self.full_name.split()[0]
        return self.full_name if first.rstrip(".").lower() in TITLES else first


class ActivityLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """An UPDATE that keeps every scope's copy of ``created_at`` equal to its entry's.

        The demo seeds date what a service logged "now" at the moment it happened in the
        story; this is the one place such a change is written, so no writer can leave the
        copies behind. The scopes are written first, while ``self`` still selects the same
        rows (its filter may read ``created_at``), in the same transaction.
        """
        if "created_at" not in kwargs:
            return super().update(**kwargs)
        at = kwargs["created_at"]
        if hasattr(at, "resolve_expression"):
            # An expression would be evaluated against the scope rows, not the entries.
            raise TypeError("Move log entries to a datetime, not an expression.")
        with transaction.atomic(using=self.db):
            ActivityScope.objects.using(self.db).filter(
                entry__in=self.values("pk")).update(created_at=at)
            return super().update(**kwargs)


class ActivityLog(models.Model):
    """One state change: who did what to which object, and the details.

    Written only through ilcop.activity.log_action. Each entry is filed under one or more
    scopes (a programme, a site, later a visit) so each of their pages can show a timeline
    with a single indexed query.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=80)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    # What the object was called at the time, so the timeline reads well after it is deleted.
    object_repr = models.CharField(max_length=200)
    # One plain-English line for the timeline, e.g. "Moved from Interested to Approved".
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    objects = ActivityLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_repr}"


class ActivityScope(models.Model):
    entry = models.ForeignKey(ActivityLog, on_delete=models.CASCADE, related_name="scopes")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    # A copy of entry.created_at, so a timeline is read newest first from the index below and
    # stops after a page, instead of joining every entry of the scope to sort them. Always
    # equal to the entry's: log_action and the seeds' bulk writers copy it when they write
    # the scope, and ActivityLogQuerySet.update changes both. No default, so a writer that
    # forgets it fails rather than files an entry at the wrong moment.
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "content_type", "object_id"], name="activity_scope_unique"
            )
        ]
        indexes = [
            # Every entry filed under one programme or site, in entry order: counting a
            # timeline (a merge join with the log) and "filed under X" filters (qips.history).
            models.Index(fields=["content_type", "object_id", "entry"]),
            # The timeline itself (ilcop.activity.timeline_for), newest first, in the
            # timeline's order (created_at, then id): a page is read and the walk stops.
            models.Index(fields=["content_type", "object_id", "created_at", "entry"],
                         name="activity_scope_timeline"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} under {self.content_type_id}:{self.object_id}"


class Notification(models.Model):
    """The reminder ledger: one row for each (kind, object, recipient, due date) that fell due.

    The unique constraint is what sends a reminder at most once, whichever beat scheduler or
    worker retry gets there first: ilcop.notifications.notify inserts the row and sends the
    email in one transaction, so a failed send leaves no row and is tried again next run.
    A row held for someone's weekly digest has ``sent_at`` empty until the digest goes.
    """

    kind = models.CharField(max_length=40)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    due_on = models.DateField()
    held_for_digest = models.BooleanField(default=False)
    # What a digest needs to list the reminder without rendering it again.
    programme_name = models.CharField(max_length=200)
    summary = models.CharField(max_length=300)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_type", "object_id", "recipient", "due_on"],
                name="one_notification_per_kind_object_recipient_due_date",
            )
        ]
        # Index for the Monday digest: what is still held for each person.
        indexes = [models.Index(fields=["held_for_digest", "sent_at", "recipient"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.content_type_id}:{self.object_id} due {self.due_on}"


class FormToken(models.Model):
    """A create form's one-time token, recorded when its POST is saved, so the same form sent
    twice (a double click, a retried request, the back button) saves once. See
    ilcop.concurrency; rows older than a day are purged as new ones come in."""

    token = models.UUIDField(unique=True)
    user = models.ForeignKey("User", null=True, on_delete=models.CASCADE, related_name="+")
    result_url = models.CharField(max_length=500, blank=True)
    # Index for the purge of old tokens.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return str(self.token)


class OutboxTask(models.Model):
    """A Celery task the broker would not take (Redis down), kept until it can be queued.

    ilcop.outbox writes the row when publishing fails after the change it follows was
    committed, and the beat job ``ilcop.tasks.flush_outbox`` queues it once Redis is back,
    deleting the row; so an email or report asked for during an outage is late, never lost.
    Every task is idempotent, so queueing one twice (two flushes at once) does no harm.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
