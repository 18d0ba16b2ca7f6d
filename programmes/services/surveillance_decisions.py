"""Recording what happens to a service after its self-report (seed 003, section 1.1.1):
routine surveillance, enhanced surveillance, peer review or a combination, with the risk level
agreed with the provider and the commissioner.

A decision may be recorded for any submitted self-report, flagged by the rules or not: the
core team may decide on a review for reasons the indicators do not capture (a serious
incident, a commissioner's concern)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, version_bump
from ilcop.models import User

from ..models import RiskLevel, SelfReport, SurveillanceDecision

FIELDS = ("routine", "enhanced", "enhanced_by", "enhanced_action", "peer_review", "risk_level",
          "agreed_with_provider", "agreed_with_commissioner", "rationale")


def _checked(*, routine: bool, enhanced: bool, enhanced_by: str, enhanced_action: str,
             peer_review: bool, risk_level: str, agreed_with_provider: bool,
             agreed_with_commissioner: bool, rationale: str) -> dict:
    """The decision's fields, tidied, or a ValidationError naming each field to put right."""
    errors = {}
    enhanced_action, rationale = enhanced_action.strip(), rationale.strip()
    if not (routine or enhanced or peer_review):
        errors["actions"] = ("Choose at least one action: routine surveillance, enhanced "
                             "surveillance or peer review")
    if enhanced:
        if enhanced_by not in SurveillanceDecision.EnhancedBy.values:
            errors["enhanced_by"] = ("Say who carries out the enhanced surveillance: the "
                                     "provider, the commissioner or both")
        if not enhanced_action:
            errors["enhanced_action"] = "Say what the enhanced surveillance involves"
    else:
        enhanced_by, enhanced_action = "", ""
    if risk_level not in RiskLevel.values:
        errors["risk_level"] = "Choose the risk level: low, medium or high"
    if not rationale:
        errors["rationale"] = "Give the reasons for the decision"
    if errors:
        raise ValidationError(errors)
    return {"routine": routine, "enhanced": enhanced, "enhanced_by": enhanced_by,
            "enhanced_action": enhanced_action, "peer_review": peer_review,
            "risk_level": risk_level, "agreed_with_provider": agreed_with_provider,
            "agreed_with_commissioner": agreed_with_commissioner, "rationale": rationale}


@transaction.atomic
def decision_record(*, report: SelfReport, user: User, routine: bool = False,
                    enhanced: bool = False, enhanced_by: str = "", enhanced_action: str = "",
                    peer_review: bool = False, risk_level: str,
                    agreed_with_provider: bool = False, agreed_with_commissioner: bool = False,
                    rationale: str, version: int | None = None) -> SurveillanceDecision:
    """Record the decision for ``report``, or change the one recorded.

    ``version`` is the decision's version the form was opened from (0 when there was none):
    if someone else has saved a different decision since, ``EditConflict`` is raised and
    nothing is written. A new decision starts at version 1, so a form opened before it
    existed is checked against it too.
    """
    fields = _checked(routine=routine, enhanced=enhanced, enhanced_by=enhanced_by,
                      enhanced_action=enhanced_action, peer_review=peer_review,
                      risk_level=risk_level, agreed_with_provider=agreed_with_provider,
                      agreed_with_commissioner=agreed_with_commissioner, rationale=rationale)
    # Locking the report makes two first decisions for it wait for each other, so the second
    # finds the first and is checked against it instead of failing on the unique report.
    report = (SelfReport.objects.select_for_update(of=("self",))
              .select_related("cycle__programme", "site").get(pk=report.pk))
    if report.status != SelfReport.Status.SUBMITTED:
        raise ValidationError("The service has not submitted its self-report yet. A decision "
                              "can be recorded once it has.")
    programme, site = report.cycle.programme, report.site
    existing = SurveillanceDecision.objects.filter(report=report).values_list("pk", flat=True)
    if not existing:
        decision = SurveillanceDecision.objects.create(
            report=report, decided_by=user, decided_at=timezone.now(), version=1, **fields)
        verb, summary = "surveillance_decision.recorded", "Recorded the surveillance decision"
    else:
        decision = lock_for_edit(SurveillanceDecision.objects.select_related("decided_by"),
                                 pk=existing[0], version=version, changes=fields)
        decision.report = report
        if all(getattr(decision, name) == value for name, value in fields.items()):
            return decision
        version_bump(decision)
        for name, value in fields.items():
            setattr(decision, name, value)
        decision.decided_by, decision.decided_at = user, timezone.now()
        decision.save(update_fields=[*FIELDS, "decided_by", "decided_at"])
        verb, summary = "surveillance_decision.changed", "Changed the surveillance decision"
    log_action(decision, verb, actor=user,
               summary=f"{summary} for {site.name} ({report.cycle.name}): "
                       f"{', '.join(decision.actions).lower()}, {decision.risk_level} risk",
               data={"report": report.pk, "routine": decision.routine,
                     "enhanced": decision.enhanced, "enhanced_by": decision.enhanced_by,
                     "peer_review": decision.peer_review, "risk_level": decision.risk_level,
                     "agreed_with_provider": decision.agreed_with_provider,
                     "agreed_with_commissioner": decision.agreed_with_commissioner},
               scopes=[programme, site])
    return decision
