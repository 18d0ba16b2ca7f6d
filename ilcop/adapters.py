from allauth.account.adapter import DefaultAccountAdapter
from django.core.mail import EmailMultiAlternatives

from .mail import html_email

# Account emails (a password reset, say) belong to the person, not to one programme.
ACCOUNT_EMAIL_SENDER = "Peer review programmes"


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: people join a programme by invitation.

    The core team invites core-team members and site leads; a site's clinical lead invites
    their own team (programmes.services.invitations). allauth still handles sign-in, sign-out,
    password reset and email verification.
    """

    def is_open_for_signup(self, request) -> bool:
        return False

    def render_mail(self, template_prefix, email, context, headers=None):
        """allauth's text email, with the same HTML part every other email of ours has."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            message.attach_alternative(html_email(
                subject=message.subject, text=message.body,
                programme_name=ACCOUNT_EMAIL_SENDER), "text/html")
        return message
