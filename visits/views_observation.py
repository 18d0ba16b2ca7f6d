"""The observation form: an observer's own form, and everyone's answers side by side.

Who may do what (the house rule: 404 for a visit you cannot see, 403 for a page of a visit you
can see but may not use):

- ``observation_form`` (/visits/<pk>/observation/): the current members of the visiting site
  fill it in. The host team and the core team can see the visit, so they get a 403 page that
  points them to the combined view; anyone else gets a 404.
- ``observations`` (/visits/<pk>/observations/): both teams' current members and the
  programme's core team; anyone else gets a 404. Only submitted responses are shown.

The form page saves a draft on every change (htmx posts the whole form and gets back the
"Saved at" status) and static/js/observation.js keeps unsaved typing in localStorage, so a
reload loses nothing. Without JavaScript the buttons post the form as usual.
"""

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import observation_form as rules
from . import selectors
from .models import ObservationResponse, Visit
from .services import observation as service


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _question_rows(definition: list[dict], values: dict[str, str], errors: dict[str, str],
                   answers: dict[str, Any]) -> list[dict]:
    """The sections of a form, each question with what the template needs to draw it."""
    sections = []
    for section in definition:
        rows = []
        for question in section["questions"]:
            key, kind = question["key"], question["type"]
            value = values.get(key, "")
            if kind == "rating":
                options = [(str(i), f"{i} – {label}")
                           for i, label in enumerate(rules.rating_labels(question), 1)]
            elif kind == "yes_no_partly":
                options = rules.YES_NO_PARTLY
            else:
                options = []
            rows.append({
                "key": key, "type": kind, "text": question["text"],
                "help": question.get("help", ""), "required": rules.is_required(question),
                "value": value, "error": errors.get(key, ""),
                "options": [(v, label, v == value) for v, label in options],
                "first_id": f"q-{key}-{options[0][0]}" if options else f"q-{key}",
                "display": rules.display_answer(question, answers.get(key)),
            })
        sections.append({"key": section["key"], "title": section["title"], "questions": rows})
    return sections


def _saved_status(request: HttpRequest, response: ObservationResponse | None, *,
                  problems: list[str] = (), refused: str = "") -> HttpResponse:
    return render(request, "visits/observation/_status.html", {
        "response": response, "problems": problems, "refused": refused,
        "saved_ms": _ms(response.updated_at) if response else 0,
    })


def _reciprocal_visit(request: HttpRequest, pk: int) -> Visit:
    """The observation form is for observing a reciprocal partner's MDT meeting: a one-way
    review's visit has none, so its observation pages do not exist (404)."""
    visit = selectors.visit_for_user(request.user, pk)
    if visit.is_review:
        raise Http404("A review's visit has no observation form")
    request.programme = visit.programme
    return visit


@login_required
@require_http_methods(["GET", "POST"])
def observation_form(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _reciprocal_visit(request, pk)
    if not service.is_observer(request.user, visit):
        return render(request, "visits/observation/not_observer.html", {"visit": visit},
                      status=403)
    response = ObservationResponse.objects.select_related("form").filter(
        visit=visit, observer=request.user).first()
    errors: dict[str, str] = {}
    posted: dict[str, str] | None = None
    if request.method == "POST":
        raw = request.POST.dict()
        action = raw.get("action", "save")
        try:
            saved = service.observation_draft_save(visit=visit, observer=request.user, raw=raw)
        except ValidationError as exc:
            if request.headers.get("HX-Request"):
                return _saved_status(request, response, refused=" ".join(exc.messages))
            messages.error(request, " ".join(exc.messages))
            return redirect("visits:observation_form", visit.pk)
        response = saved.response
        if request.headers.get("HX-Request"):
            by_key = {q["key"]: q for q in rules.questions(response.form.definition)}
            return _saved_status(request, response, problems=[
                f"{by_key[key]['text']} {message}." for key, message in saved.errors.items()])
        errors = dict(saved.errors)
        if not errors and action == "submit":
            try:
                service.observation_submit(visit=visit, observer=request.user)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    errors = {key: " ".join(texts) for key, texts in exc.message_dict.items()}
                else:
                    errors = {"": " ".join(exc.messages)}
            else:
                messages.success(request, "Your observations have been submitted. Thank you.")
                return redirect("visits:observation_form", visit.pk)
        elif not errors:
            messages.success(request, "Your answers are saved. You can come back and finish "
                                      "them at any time before you submit.")
            return redirect("visits:observation_form", visit.pk)
        posted = raw
    form = response.form if response else service.observation_form_current(visit.programme)
    answers = response.answers if response else {}
    values = posted if posted is not None else {k: str(v) for k, v in answers.items()}
    sections = _question_rows(form.definition, values, errors, answers)
    targets = {q["key"]: q["first_id"] for s in sections for q in s["questions"]}
    error_list = [{"message": message, "target": targets.get(key, "")}
                  for key, message in errors.items()]
    submitted = response is not None and response.submitted_at is not None
    return render(request, "visits/observation/form.html", {
        "visit": visit, "observation_form": form, "response": response,
        "sections": sections, "error_list": error_list, "submitted": submitted,
        # Only used by base.html, for the "Error: " title prefix.
        "form": {"errors": bool(error_list)},
        "storage_key": f"observation:{visit.pk}:{request.user.pk}",
        "server_now_ms": int(time.time() * 1000),
        "server_updated_ms": _ms(response.updated_at) if response else 0,
    })


@login_required
def observations(request: HttpRequest, pk: int) -> HttpResponse:
    visit: Visit = _reciprocal_visit(request, pk)
    request.programme = visit.programme
    combined = selectors.combined_observations(visit)
    return render(request, "visits/observation/combined.html", {
        "visit": visit, "blocks": combined.blocks,
        "submitted_count": combined.submitted_count, "draft_count": combined.draft_count,
        "is_observer": service.is_observer(request.user, visit),
    })
