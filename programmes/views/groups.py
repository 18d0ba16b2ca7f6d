"""Role groups: the core team emails all the CNSs (or leads, or coordinators...) of its
programme in one step; optional emails carry a one-click unsubscribe link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ilcop.concurrency import single_submission
from ilcop.listing import page_of

from ..forms_community import GroupMessageForm
from ..selectors import community as selectors
from ..services import directory as directory_services
from ..services import groups as services


@login_required
def role_groups(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_role_groups(request.user, pk)
    request.programme = programme
    return render(request, "programmes/directory/role_groups.html", {
        "programme": programme, "groups": selectors.role_groups(programme),
        "page": page_of(selectors.group_messages(programme), request.GET),
        "group_names": selectors.GROUP_NAMES,
    })


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def group_message_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Write, then confirm (with how many it will reach), then send."""
    programme = selectors.programme_for_role_groups(request.user, pk)
    request.programme = programme
    form = GroupMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("send") == "yes":
            try:
                message = services.group_message_send(programme=programme, user=request.user,
                                                      **data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                count = message.recipient_count
                messages.success(request, f"Your email went to {count} "
                                          f"{'person' if count == 1 else 'people'}")
                return redirect("programmes:group_message_detail", programme.pk, message.pk)
        elif request.POST.get("edit") != "yes":
            reach = len(selectors.group_recipients(programme, data["roles"],
                                                   essential=data["essential"]))
            everyone = reach if data["essential"] else len(
                selectors.group_recipients(programme, data["roles"], essential=True))
            return render(request, "programmes/directory/group_message_confirm.html", {
                "programme": programme, "form": form, "reach": reach,
                "opted_out": everyone - reach, "groups": selectors.group_names(data["roles"]),
            })
    return render(request, "programmes/directory/group_message_form.html",
                  {"programme": programme, "form": form})


@login_required
def group_message_detail(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    programme = selectors.programme_for_role_groups(request.user, pk)
    request.programme = programme
    message = get_object_or_404(selectors.group_messages(programme), pk=message_pk)
    return render(request, "programmes/directory/group_message_detail.html", {
        "programme": programme, "message": message,
        "groups": selectors.group_names(message.roles) if message.roles else "",
        "page": page_of(selectors.group_message_reached(message), request.GET),
    })


# RFC 8058, section 3.1: the mail client's one-click POST carries no CSRF token and no
# cookies; the signed token in the URL is the authorisation, so CSRF protection would only
# break it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def role_group_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = services.unsubscribe_read(token)
    if found is None:
        return render(request, "programmes/directory/unsubscribe_invalid.html", status=404)
    user, programme, roles = found
    context = {"programme": programme, "groups": selectors.group_names(roles)}
    if request.method == "POST":
        directory_services.role_group_opt_out(user=user, programme=programme, roles=roles)
        return render(request, "programmes/directory/unsubscribe_done.html", context)
    return render(request, "programmes/directory/unsubscribe.html", context)
