"""Emailing a programme's role groups (all its CNSs, all its MDT coordinators...) in one
step, and the one-click unsubscribe link its optional emails carry.

Each person is sent the message once, through the notifications ledger (``notify``, kind
``group_message``), which is also the record of who it reached.
"""

import logging

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.celery import queue_after_commit
from ilcop.models import Notification, User
from ilcop.notifications import Tally, absolute_url, notify_or_log

from ..models import GroupMessage, Programme, SiteMembership
from ..selectors.community import group_names, group_recipients

logger = logging.getLogger(__name__)

KIND = "group_message"
UNSUBSCRIBE_SALT = "programmes.role_groups.unsubscribe"


def unsubscribe_token(user: User, programme: Programme, roles: list[str]) -> str:
    """A link that needs no sign-in: signed with the secret key, it names the person, the
    programme and the groups it stops. It does not expire: an old email's link should work."""
    return signing.dumps({"u": user.pk, "p": programme.pk, "r": list(roles)},
                         salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[User, Programme, list[str]] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user = User.objects.get(pk=int(data["u"]), is_active=True)
        programme = Programme.objects.get(pk=int(data["p"]))
        roles = [role for role in SiteMembership.Role.values if role in data["r"]]
    except (signing.BadSignature, KeyError, TypeError, ValueError, User.DoesNotExist,
            Programme.DoesNotExist):
        return None
    return (user, programme, roles) if roles else None


def unsubscribe_url(user: User, programme: Programme, roles: list[str]) -> str:
    return absolute_url(reverse("programmes:role_group_unsubscribe",
                                args=[unsubscribe_token(user, programme, roles)]))


def group_message_send(*, programme: Programme, user: User, roles: list[str], subject: str,
                       body: str, essential: bool = False) -> GroupMessage:
    """Record the message and email everyone in the groups, less those who opted out unless it
    is essential. ``recipient_count`` is how many the ledger says it reached."""
    roles = [role for role in SiteMembership.Role.values if role in roles]
    if not roles:
        raise ValidationError("Select at least one role group")
    if not subject.strip() or not body.strip():
        raise ValidationError("Enter the subject and the message")
    recipients = group_recipients(programme, roles, essential=essential)
    if not recipients:
        raise ValidationError("Nobody in these groups would get this email")
    with transaction.atomic():
        message = GroupMessage.objects.create(
            programme=programme, roles=roles, subject=subject.strip(), body=body.strip(),
            can_unsubscribe=not essential, sent_by=user)
        log_action(message, "group_message.sent", actor=user,
                   summary=f"Emailed {group_names(roles)}"
                           + (" (essential)" if essential else ""),
                   data={"roles": roles, "essential": essential}, scopes=[programme])
        from ..tasks import send_group_message

        # A group can be every CNS of a national programme: hundreds of emails are the
        # worker's job, not the page's.
        queue_after_commit(send_group_message, message.pk)
    return message


def group_message_deliver(*, message_id: int) -> Tally:
    """Email everyone in the message's groups who has not had it yet (the ledger decides), so
    a retried or repeated run sends nobody a second copy. ``recipient_count`` is how many the
    ledger says it reached."""
    message = GroupMessage.objects.select_related("programme", "sent_by").get(pk=message_id)
    programme, roles = message.programme, message.roles
    recipients = group_recipients(programme, roles, essential=not message.can_unsubscribe)
    directory_url = absolute_url(reverse("programmes:directory", args=[programme.pk]))
    tally = Tally()
    for recipient, held in recipients:
        headers, link = {}, ""
        if message.can_unsubscribe:
            link = unsubscribe_url(recipient, programme, held)
            # RFC 8058: a mail client offers its own "Unsubscribe" and POSTs to the link.
            headers = {"List-Unsubscribe": f"<{link}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        tally.add(notify_or_log(
            kind=KIND, obj=message, recipient=recipient,
            due_on=timezone.localdate(message.sent_at), template="emails/group_message",
            context={"message": message, "groups": group_names(held),
                     "all_groups": group_names(roles), "unsubscribe_url": link,
                     "sender": message.sent_by},
            programme_name=programme.name, summary=message.subject[:300], url=directory_url,
            must_send=True, headers=headers))
    message.recipient_count = Notification.objects.filter(
        kind=KIND, object_id=message.pk).count()
    message.save(update_fields=["recipient_count"])
    logger.info("group_message=%s programme=%s sent=%d failed=%d refused=%d", message.pk,
                programme.pk, tally.sent, tally.failed, tally.refused)
    return tally
