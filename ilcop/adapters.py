from allauth.account.adapter import DefaultAccountAdapter


class InvitationOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: people join a programme by invitation.

    The core team invites core-team members and site leads; a site's clinical lead invites
    their own team (programmes.services.invitations). allauth still handles sign-in, sign-out,
    password reset and email verification.
    """

    def is_open_for_signup(self, request) -> bool:
        return False
