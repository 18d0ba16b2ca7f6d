"""Inviting people, accepting invitations, and keeping a site's team up to date."""

from allauth.account.internal.flows.login import record_authentication
from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.models import User

from .. import selectors, services
from ..forms import AcceptInvitationForm, InvitationForm
from ..models import Invitation, Programme, Site, SiteMembership


def _invite(request: HttpRequest, *, programme: Programme, site: Site | None,
            done_url: str) -> HttpResponse:
    form = InvitationForm(request.POST or None, for_site=site is not None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        role = {"site_role": data["role"]} if site else {"core_role": data["role"]}
        try:
            invitation = services.invitation_create(
                programme=programme, site=site, invited_by=request.user, email=data["email"],
                full_name=data["full_name"], clinical_specialty=data.get("clinical_specialty", ""),
                **role,
            )
        except services.InvitationError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"An invitation has been sent to {invitation.email}")
            return redirect(done_url)
    return render(request, "programmes/invitation_form.html", {
        "form": form, "programme": programme, "site": site,
        "team_name": site.name if site else "the core team",
        "valid_days": settings.INVITATION_VALID_DAYS,
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def core_team_invite(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    return _invite(request, programme=programme, site=None,
                   done_url=reverse("programmes:programme_detail", args=[programme.pk]))


def _site_for_team_management(request: HttpRequest, pk: int) -> Site:
    site = selectors.site_for_user(request.user, pk)
    if not selectors.can_manage_site_team(request.user, site):
        raise PermissionDenied
    return site


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def site_team_invite(request: HttpRequest, pk: int) -> HttpResponse:
    site = _site_for_team_management(request, pk)
    # Invitations go out in the name of the site's current programme.
    programme = selectors.current_programme_for_site(request.user, site)
    if programme is None:
        raise Http404
    request.programme = programme
    return _invite(request, programme=programme, site=site,
                   done_url=reverse("programmes:site_detail", args=[site.pk]))


def _invitation_for_manager(request: HttpRequest, invitation_pk: int) -> Invitation:
    invitation = get_object_or_404(
        Invitation.objects.select_related("programme", "site"), pk=invitation_pk
    )
    if invitation.site_id:
        allowed = (
            selectors.visible_sites(request.user).filter(pk=invitation.site_id).exists()
            and selectors.can_manage_site_team(request.user, invitation.site)
        )
    else:
        allowed = selectors.core_programmes(request.user).filter(
            pk=invitation.programme_id
        ).exists()
    if not allowed:
        raise Http404
    return invitation


def _back_to_team(invitation: Invitation) -> str:
    if invitation.site_id:
        return reverse("programmes:site_detail", args=[invitation.site_id])
    return reverse("programmes:programme_detail", args=[invitation.programme_id])


@login_required
@require_POST
@single_submission
def invitation_resend(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    invitation = _invitation_for_manager(request, invitation_pk)
    if invitation.status == Invitation.Status.PENDING:
        services.invitation_send(invitation=invitation, user=request.user)
        messages.success(request, f"The invitation has been sent again to {invitation.email}")
    else:
        messages.error(request, "That invitation has already been accepted or withdrawn")
    return redirect(_back_to_team(invitation))


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    invitation = _invitation_for_manager(request, invitation_pk)
    try:
        services.invitation_revoke(invitation=invitation, user=request.user)
    except services.InvitationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation to {invitation.full_name} has been withdrawn")
    return redirect(_back_to_team(invitation))


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email. Newcomers set a password; others sign in first."""
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as exc:
        if exc.accepted_by_id is not None and exc.accepted_by_id == request.user.pk:
            # A second click on the link, or a double-submitted form: already done.
            return redirect("programmes:home")
        return render(request, "programmes/invitation_invalid.html", {"problem": str(exc)},
                      status=410)

    has_account = (
        User.objects.filter(email__iexact=invitation.email).exists()
        or EmailAddress.objects.filter(email__iexact=invitation.email).exists()
    )
    if has_account:
        if not request.user.is_authenticated:
            return render(request, "programmes/invitation_sign_in.html", {
                "invitation": invitation,
                "login_url": f"{reverse('account_login')}?next={request.path}",
            })
        if request.method == "POST":
            try:
                services.invitation_accept(invitation=invitation, user=request.user)
            except services.InvitationError as exc:
                return render(request, "programmes/invitation_invalid.html",
                              {"problem": str(exc)}, status=409)
            messages.success(request, f"You have joined as {invitation.role_label}")
            return redirect("programmes:home")
        return render(request, "programmes/invitation_accept.html", {"invitation": invitation})

    form = AcceptInvitationForm(
        request.POST or None, email=invitation.email, initial={"full_name": invitation.full_name}
    )
    if request.method == "POST" and form.is_valid():
        if request.user.is_authenticated:
            # Someone else was signed in on this browser; the newcomer takes over.
            logout(request)
        try:
            user = services.invitation_accept(
                invitation=invitation, full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except services.InvitationError as exc:
            return render(request, "programmes/invitation_invalid.html", {"problem": str(exc)},
                          status=409)
        messages.success(request, f"Welcome. You have joined as {invitation.role_label}.")
        # allauth's login, so its signals, session handling and rate limits apply as usual.
        response = perform_login(request, user, redirect_url=reverse("programmes:home"))
        # The newcomer has just chosen their password here. Recording it as this session's
        # sign-in spares them allauth's "confirm your password" step when a core-team member
        # goes straight on to set up their authenticator app (ilcop.mfa).
        record_authentication(request, user, method="password", email=user.email,
                              reauthenticated=True)
        return response
    return render(request, "programmes/invitation_accept.html",
                  {"invitation": invitation, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def site_member_remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    site = _site_for_team_management(request, pk)
    membership = get_object_or_404(
        SiteMembership.objects.current().select_related("user"), pk=membership_pk, site=site
    )
    error = ""
    if request.method == "POST":
        try:
            services.site_membership_end(membership=membership, user=request.user)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, f"{membership.user} has been removed from the team")
            return redirect("programmes:site_detail", site.pk)
    return render(request, "programmes/site_member_remove.html",
                  {"site": site, "membership": membership, "error": error})
