"""Writes for the observation form: its versions, drafts and submissions.

Who observes: the current members of the visit's *visiting* site fill the form in, one
response each. The host team and the core team read the submitted responses side by side
(visits.views_observation); they do not fill the form in.

Drafts are saved as the observer types (every change, from the page's autosave), so a draft
save is not logged each time: the activity log gets one entry when an observer starts (the
first save) and one when they submit. A submission is final: later changes are refused, so
the discussion on the day works from answers that do not move under it. A visit that was
cancelled takes no observations.

This module is not re-exported from visits.services; import it as
``from visits.services import observation``.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User
from programmes.models import Programme, SiteMembership

from .. import observation_form as rules
from ..models import ObservationForm, ObservationResponse, Visit
from .common import log_visit


@dataclass
class DraftSaved:
    response: ObservationResponse
    # Question key -> message, for answers that were not saved (the rest were).
    errors: dict[str, str] = field(default_factory=dict)
    created: bool = False


def is_observer(user: User, visit: Visit) -> bool:
    """Whether ``user`` fills in the observation form for ``visit``: a current member of the
    visiting site."""
    if not user.is_authenticated:
        return False
    return SiteMembership.objects.current().filter(site_id=visit.visitor_id,
                                                   user=user).exists()


def observation_form_current(programme: Programme) -> ObservationForm:
    """The programme's newest form, creating version 1 from the default definition."""
    form = programme.observation_forms.order_by("-version").first()
    if form is not None:
        return form
    try:
        with transaction.atomic():
            form, _ = ObservationForm.objects.get_or_create(
                programme=programme, version=1,
                defaults={"title": rules.DEFAULT_TITLE,
                          "definition": rules.DEFAULT_DEFINITION})
    except IntegrityError:  # created by a concurrent request
        form = ObservationForm.objects.get(programme=programme, version=1)
    return form


@transaction.atomic
def observation_form_new_version(*, programme: Programme, definition: list[dict], user: User,
                                 title: str = "") -> ObservationForm:
    """A new version of the programme's form. Responses keep the version they answered."""
    problems = rules.validate_definition(definition)
    if problems:
        raise ValidationError(problems)
    Programme.objects.select_for_update().get(pk=programme.pk)
    current = programme.observation_forms.aggregate(v=Max("version"))["v"] or 0
    previous = programme.observation_forms.filter(version=current).first()
    form = ObservationForm.objects.create(
        programme=programme, version=current + 1, definition=definition,
        title=title or (previous.title if previous else rules.DEFAULT_TITLE))
    log_action(form, "observation_form.versioned", actor=user,
               summary=f"Observation form version {form.version} created",
               data={"version": form.version}, scopes=[programme])
    return form


def _check_can_observe(visit: Visit, observer: User) -> None:
    if visit.status not in (Visit.Status.CONFIRMED, Visit.Status.HAPPENED):
        raise ValidationError("Observations are taken on the visit day, once the visit is "
                              "confirmed")
    if not is_observer(observer, visit):
        raise ValidationError("Only members of the visiting team fill in the observation form")


@transaction.atomic
def observation_draft_save(*, visit: Visit, observer: User, raw: dict[str, str]) -> DraftSaved:
    """Save what an observer has entered so far.

    ``raw`` is the posted form: answers that are blank are cleared, answers that are wrong
    keep their previous value and are reported in ``errors``, and questions not posted at all
    are left alone (so a partial post changes only what it names).
    """
    _check_can_observe(visit, observer)
    mine = ObservationResponse.objects.select_for_update().select_related("form").filter(
        visit=visit, observer=observer)
    response = mine.first()
    created = False
    if response is None:
        try:
            with transaction.atomic():
                response = ObservationResponse.objects.create(
                    visit=visit, observer=observer,
                    form=observation_form_current(visit.programme))
            created = True
        except IntegrityError:  # a concurrent first save won
            response = mine.get()
    if response.submitted_at is not None:
        raise ValidationError("Your observations have been submitted, so they can no longer "
                              "be changed")
    definition = response.form.definition
    answers, errors = rules.clean_answers(definition, raw)
    posted = {q["key"] for q in rules.questions(definition) if q["key"] in raw}
    merged = {k: v for k, v in response.answers.items() if k not in posted or k in errors}
    merged.update(answers)
    response.answers = merged
    response.updated_at = timezone.now()
    response.save()
    if created:
        name = observer.full_name or "An observer"
        log_visit(visit, "observation.started", f"{name} started the observation form",
                  user=observer, data={"response": response.pk,
                                       "form_version": response.form.version})
    return DraftSaved(response=response, errors=errors, created=created)


@transaction.atomic
def observation_submit(*, visit: Visit, observer: User) -> ObservationResponse:
    """Submit an observer's saved draft. Refused, naming each question, if any required
    answer is missing."""
    _check_can_observe(visit, observer)
    response = (ObservationResponse.objects.select_for_update().select_related("form")
                .filter(visit=visit, observer=observer).first())
    if response is None:
        raise ValidationError("Answer the questions before submitting")
    if response.submitted_at is not None:
        raise ValidationError("Your observations have already been submitted")
    definition = response.form.definition
    missing = rules.missing_answers(definition, response.answers)
    if missing:
        by_key = {q["key"]: q for q in rules.questions(definition)}
        raise ValidationError({key: f"Answer “{by_key[key]['text']}”" for key in missing})
    response.submitted_at = timezone.now()
    response.updated_at = response.submitted_at
    response.save(update_fields=["submitted_at", "updated_at"])
    name = observer.full_name or "An observer"
    log_visit(visit, "observation.submitted", f"{name} submitted their observations",
              user=observer, data={"response": response.pk,
                                   "form_version": response.form.version})
    return response
