"""Writes for a one-way review programme's standards, quality indicators, annual self-report
and regional hubs (seed 003, section 1.1.1). The scoring itself is the pure
``programmes.surveillance``; the reads are ``programmes.selectors.surveillance``."""

import datetime

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as format_date

from ilcop.activity import log_action
from ilcop.concurrency import EditConflict, version_bump
from ilcop.imports import FILE, ImportFailed, RowError, read_table
from ilcop.models import User
from ilcop.uploads import display_name

from ..models import (
    EvidenceDocument,
    IndicatorResponse,
    Programme,
    QualityIndicator,
    RegionalHub,
    RegionalHubMembership,
    SelfReport,
    SelfReportCycle,
    Site,
    Standard,
)
from ..selectors.participants import participant_sites

# --- standards and indicators ----------------------------------------------------------------


def _save_unique(instance, message: str) -> None:
    """Save, turning a clash with the unique code (two people adding the same code at once)
    into a message rather than a server error."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError({"code": message}) from None


@transaction.atomic
def standard_save(*, programme: Programme, user: User, standard: Standard | None = None,
                  code: str, title: str, description: str = "", order: int = 0) -> Standard:
    creating = standard is None
    standard = standard or Standard(programme=programme)
    if Standard.objects.filter(programme=programme, code__iexact=code).exclude(
            pk=standard.pk).exists():
        raise ValidationError({"code": f"Another standard already has the code {code}"})
    standard.code, standard.title = code, title
    standard.description, standard.order = description, order
    _save_unique(standard, f"Another standard already has the code {code}")
    log_action(standard, "standard.added" if creating else "standard.updated", actor=user,
               summary=f"{'Added' if creating else 'Changed'} the standard {standard.code}",
               scopes=[programme])
    return standard


@transaction.atomic
def indicator_save(*, programme: Programme, user: User,
                   indicator: QualityIndicator | None = None, code: str, title: str,
                   kind: str, standard: Standard | None = None, guidance: str = "",
                   version: str = "1", review_date: datetime.date | None = None,
                   order: int = 0) -> QualityIndicator:
    creating = indicator is None
    indicator = indicator or QualityIndicator(programme=programme)
    if standard is not None and standard.programme_id != programme.pk:
        raise ValidationError({"standard": "Select one of this programme's standards"})
    if QualityIndicator.objects.filter(programme=programme, code__iexact=code).exclude(
            pk=indicator.pk).exists():
        raise ValidationError({"code": f"Another indicator already has the code {code}"})
    indicator.code, indicator.title, indicator.kind = code, title, kind
    indicator.standard, indicator.guidance = standard, guidance
    indicator.version, indicator.review_date, indicator.order = version, review_date, order
    _save_unique(indicator, f"Another indicator already has the code {code}")
    log_action(indicator, "quality_indicator.added" if creating else "quality_indicator.updated",
               actor=user, scopes=[programme],
               summary=f"{'Added' if creating else 'Changed'} the quality indicator "
                       f"{indicator.code}",
               data={"kind": kind, "version": version})
    return indicator


@transaction.atomic
def indicator_flag(*, indicator: QualityIndicator, user: User, reason: str) -> QualityIndicator:
    """Mark an indicator as out of date. From now on it is not scored (programmes.surveillance)
    until someone revises it."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the indicator is out of date"})
    indicator = QualityIndicator.objects.select_for_update().get(pk=indicator.pk)
    if indicator.flagged_out_of_date_at:
        return indicator  # already flagged: the first reason stands
    indicator.flagged_out_of_date_at = timezone.now()
    indicator.flagged_out_of_date_by = user
    indicator.out_of_date_reason = reason
    indicator.save(update_fields=["flagged_out_of_date_at", "flagged_out_of_date_by",
                                  "out_of_date_reason"])
    log_action(indicator, "quality_indicator.flagged", actor=user,
               summary=f"Flagged the quality indicator {indicator.code} as out of date",
               data={"reason": reason}, scopes=[indicator.programme])
    return indicator


@transaction.atomic
def indicator_revise(*, indicator: QualityIndicator, user: User, version: str,
                     review_date: datetime.date) -> QualityIndicator:
    """A new version with a new review date: the flag is cleared and it is scored again."""
    version = (version or "").strip()
    indicator = QualityIndicator.objects.select_for_update().get(pk=indicator.pk)
    if not version:
        raise ValidationError({"version": "Enter the new version"})
    if version == indicator.version:
        raise ValidationError({"version": f"The indicator is already version {version}. "
                                          "Enter the new version, such as "
                                          f"{indicator.version}.1"})
    if review_date <= timezone.localdate():
        raise ValidationError({"review_date": "The next review date must be in the future"})
    previous = indicator.version
    indicator.version, indicator.review_date = version, review_date
    indicator.flagged_out_of_date_at, indicator.flagged_out_of_date_by = None, None
    indicator.out_of_date_reason = ""
    indicator.save(update_fields=["version", "review_date", "flagged_out_of_date_at",
                                  "flagged_out_of_date_by", "out_of_date_reason"])
    log_action(indicator, "quality_indicator.revised", actor=user,
               summary=f"Revised the quality indicator {indicator.code} to version {version}",
               data={"from_version": previous, "to_version": version,
                     "review_date": review_date.isoformat()},
               scopes=[indicator.programme])
    return indicator


# --- cycles ----------------------------------------------------------------------------------


@transaction.atomic
def cycle_create(*, programme: Programme, user: User, name: str, opens_on: datetime.date,
                 closes_on: datetime.date) -> SelfReportCycle:
    errors = {}
    if closes_on < opens_on:
        errors["closes_on"] = "The closing date must be on or after the opening date"
    if SelfReportCycle.objects.filter(programme=programme, name__iexact=name).exists():
        errors["name"] = f"There is already a self-report called {name}"
    if errors:
        raise ValidationError(errors)
    cycle = SelfReportCycle.objects.create(programme=programme, name=name, opens_on=opens_on,
                                           closes_on=closes_on)
    log_action(cycle, "self_report_cycle.added", actor=user,
               summary=f"Added the self-report {cycle.name}",
               data={"opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat()},
               scopes=[programme])
    return cycle


@transaction.atomic
def cycle_update(*, cycle: SelfReportCycle, user: User, name: str, opens_on: datetime.date,
                 closes_on: datetime.date) -> SelfReportCycle:
    """Rename the cycle or move its dates. Moving the closing date to today or later
    reopens the cycle to every service that has not submitted (self_report_closed_reason)."""
    cycle = SelfReportCycle.objects.select_for_update().get(pk=cycle.pk)
    errors = {}
    if closes_on < opens_on:
        errors["closes_on"] = "The closing date must be on or after the opening date"
    if SelfReportCycle.objects.filter(programme_id=cycle.programme_id,
                                      name__iexact=name).exclude(pk=cycle.pk).exists():
        errors["name"] = f"There is already a self-report called {name}"
    if errors:
        raise ValidationError(errors)
    before = {"name": cycle.name, "opens_on": cycle.opens_on.isoformat(),
              "closes_on": cycle.closes_on.isoformat()}
    cycle.name, cycle.opens_on, cycle.closes_on = name, opens_on, closes_on
    after = {"name": name, "opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat()}
    if after == before:
        return cycle
    cycle.save(update_fields=["name", "opens_on", "closes_on"])
    log_action(cycle, "self_report_cycle.updated", actor=user,
               summary=f"Changed the self-report {cycle.name}: open from "
                       f"{format_date(opens_on, 'j F Y')} to {format_date(closes_on, 'j F Y')}",
               data={"from": before, "to": after}, scopes=[cycle.programme])
    return cycle


# --- a service's self-report -----------------------------------------------------------------


def self_report_closed_reason(*, cycle: SelfReportCycle, report: SelfReport | None = None,
                              today: datetime.date | None = None) -> str:
    """Why a service may not answer, add evidence to or submit its self-report today, in
    words for the service; "" when it may.

    The rule, as NHS England's annual self-assessment runs it:

    - A service may change and submit its self-report from ``opens_on`` to ``closes_on``,
      both days included, by the London date (``timezone.localdate()``).
    - A report the core team has reopened for changes (``reopened_at``) stays open to its
      service after the closing date until it is submitted again: the core team chose to
      send it back, and a report stranded unsubmitted would drop out of the results.
    - The core team is not held to the dates. It moves them (``cycle_update``), which
      reopens the cycle to every service that has not submitted; reopens a submitted report
      (``self_report_reopen``); imports answers on services' behalf (``self_report_import``);
      and records surveillance decisions, all at any time.
    """
    today = today or timezone.localdate()
    if report is not None and report.reopened_at is not None:
        return ""
    if today < cycle.opens_on:
        return (f"This self-report opens on {format_date(cycle.opens_on, 'j F Y')}. "
                "You can answer it from then.")
    if today > cycle.closes_on:
        return (f"This self-report closed on {format_date(cycle.closes_on, 'j F Y')}. "
                "Ask the programme's core team if you need the date moved.")
    return ""


def _refuse_if_closed(cycle: SelfReportCycle, report: SelfReport) -> None:
    reason = self_report_closed_reason(cycle=cycle, report=report)
    if reason:
        raise ValidationError(reason, code="closed")


def _report_for(cycle: SelfReportCycle, site_id: int) -> SelfReport:
    report, _ = SelfReport.objects.get_or_create(cycle=cycle, site_id=site_id)
    return report


@transaction.atomic
def self_report_save(*, cycle: SelfReportCycle, site: Site, user: User,
                     answers: dict[int, tuple[bool | None, str]],
                     version: int | None = None) -> SelfReport:
    """Save a service's answers: indicator id -> (met, comment), met None for not answered.
    The report is made on first save. ``version`` is the one the form was opened from: if
    someone else saved different answers since, ``EditConflict`` is raised and nothing is
    written (ilcop.concurrency)."""
    indicators = set(QualityIndicator.objects.filter(programme=cycle.programme)
                     .values_list("pk", flat=True))
    if set(answers) - indicators:
        raise ValidationError("Answer only this programme's quality indicators.")
    created = _report_for(cycle, site.pk)
    report = SelfReport.objects.select_for_update().get(pk=created.pk)
    if report.status == SelfReport.Status.SUBMITTED:
        raise ValidationError("This self-report has been submitted, so it cannot be changed. "
                              "Ask the core team to reopen it.")
    _refuse_if_closed(cycle, report)
    saved = {r.indicator_id: (r.met, r.comment) for r in report.responses.all()}
    changed = {pk: answer for pk, answer in answers.items()
               if saved.get(pk, (None, "")) != answer}
    if not changed:
        return report
    if version is not None and report.version != version:
        # Someone saved since this form was opened, and this save would change their answers.
        raise EditConflict(report)
    version_bump(report)
    for pk, (met, comment) in changed.items():
        IndicatorResponse.objects.update_or_create(report=report, indicator_id=pk,
                                                   defaults={"met": met, "comment": comment})
    log_action(report, "self_report.saved", actor=user,
               summary=f"Saved the self-report {cycle.name}",
               data={"indicators": sorted(changed)}, scopes=[site, cycle.programme])
    return report


def unanswered_count(report: SelfReport) -> int:
    """Indicators still to answer; out-of-date ones too, as the service cannot know whether
    the core team will revise them before scoring."""
    answered = report.responses.exclude(met=None).values("indicator_id")
    return (QualityIndicator.objects.filter(programme=report.cycle.programme)
            .exclude(pk__in=answered).count())


@transaction.atomic
def self_report_submit(*, cycle: SelfReportCycle, site: Site, user: User) -> SelfReport:
    report = SelfReport.objects.select_for_update().get(pk=_report_for(cycle, site.pk).pk)
    if report.status == SelfReport.Status.SUBMITTED:
        raise ValidationError("This self-report has already been submitted.")
    _refuse_if_closed(cycle, report)
    missing = unanswered_count(report)
    if missing:
        raise ValidationError(
            f"{missing} quality indicator{'s are' if missing != 1 else ' is'} not answered "
            "yet. Answer every indicator Met or Not met, then submit.")
    report.status, report.submitted_at, report.submitted_by = (
        SelfReport.Status.SUBMITTED, timezone.now(), user)
    report.reopened_at = None
    report.save(update_fields=["status", "submitted_at", "submitted_by", "reopened_at"])
    log_action(report, "self_report.submitted", actor=user,
               summary=f"Submitted the self-report {cycle.name}",
               scopes=[site, cycle.programme])
    return report


@transaction.atomic
def self_report_reopen(*, report: SelfReport, user: User) -> SelfReport:
    """The core team sends a submitted report back to its service for changes. The service
    may change and resubmit it even after the cycle has closed (self_report_closed_reason)."""
    report = SelfReport.objects.select_for_update().get(pk=report.pk)
    if report.status != SelfReport.Status.SUBMITTED:
        raise ValidationError("This self-report is not submitted, so it is already open.")
    report.status, report.submitted_at, report.submitted_by = (
        SelfReport.Status.DRAFT, None, None)
    report.reopened_at = timezone.now()
    report.save(update_fields=["status", "submitted_at", "submitted_by", "reopened_at"])
    log_action(report, "self_report.reopened", actor=user,
               summary=f"Reopened the self-report {report.cycle.name} for changes",
               scopes=[report.site, report.cycle.programme])
    return report


@transaction.atomic
def evidence_add(*, cycle: SelfReportCycle, site: Site, user: User, title: str,
                 upload: UploadedFile,
                 indicator: QualityIndicator | None = None) -> EvidenceDocument:
    """Evidence may be added while the report is open, within the cycle's dates
    (self_report_closed_reason); the file has been checked by ilcop.uploads.validate_upload
    in the form."""
    report = SelfReport.objects.select_for_update().get(pk=_report_for(cycle, site.pk).pk)
    if report.status == SelfReport.Status.SUBMITTED:
        raise ValidationError("This self-report has been submitted, so evidence cannot be "
                              "added. Ask the core team to reopen it.")
    _refuse_if_closed(cycle, report)
    if indicator is not None and indicator.programme_id != cycle.programme_id:
        raise ValidationError({"indicator": "Select one of this programme's indicators"})
    document = EvidenceDocument(report=report, indicator=indicator, title=title,
                                filename=display_name(upload.name), size=upload.size,
                                uploaded_by=user)
    document.file.save(upload.name, upload, save=False)
    document.save()
    log_action(document, "self_report.evidence_added", actor=user,
               summary=f"Added evidence to the self-report {cycle.name}",
               data={"report": report.pk, "indicator": indicator.pk if indicator else None},
               scopes=[site, cycle.programme])
    return document


# --- import ----------------------------------------------------------------------------------

IMPORT_COLUMNS = ["service_code", "indicator_code", "met", "comment"]
REQUIRED_IMPORT_COLUMNS = ["service_code", "indicator_code", "met"]
MET_WORDS = {"yes": True, "y": True, "met": True, "true": True,
             "no": False, "n": False, "not met": False, "false": False}
MAX_COMMENT = 2000


@transaction.atomic
def self_report_import(*, cycle: SelfReportCycle, user: User, uploaded) -> int:
    """Answers for many services at once, one row per service and indicator, submitted on
    each service's behalf. All or nothing: every problem is named by row and column. The
    core team may import outside the cycle's dates (self_report_closed_reason)."""
    rows = read_table(uploaded, required_columns=REQUIRED_IMPORT_COLUMNS)
    services = {site.code.upper(): site
                for site in participant_sites(cycle.programme) if site.code}
    indicators = {i.code.upper(): i for i in
                  QualityIndicator.objects.filter(programme=cycle.programme)}
    submitted = set(SelfReport.objects.filter(cycle=cycle, status=SelfReport.Status.SUBMITTED)
                    .values_list("site_id", flat=True))
    errors: list[RowError] = []
    parsed: dict[int, dict[int, tuple[bool, str]]] = {}
    seen: dict[tuple[int, int], int] = {}
    for row in rows:
        cells = row.cells
        site = services.get(cells.get("service_code", "").upper())
        indicator = indicators.get(cells.get("indicator_code", "").upper())
        met = MET_WORDS.get(" ".join(cells.get("met", "").lower().split()))
        comment = cells.get("comment", "")
        problems = []
        if site is None:
            problems.append(RowError(row.number, "service_code",
                                     f"“{cells.get('service_code', '')}” is not the code of a "
                                     "service in this programme.", sheet=row.sheet))
        elif site.pk in submitted:
            problems.append(RowError(row.number, "service_code",
                                     f"{site.code} has already submitted its self-report. "
                                     "Reopen it first, or remove its rows.", sheet=row.sheet))
        if indicator is None:
            problems.append(RowError(row.number, "indicator_code",
                                     f"“{cells.get('indicator_code', '')}” is not one of the "
                                     "programme's quality indicator codes.", sheet=row.sheet))
        if met is None:
            problems.append(RowError(row.number, "met",
                                     f"“{cells.get('met', '')}” must be yes, no, met or not "
                                     "met.", sheet=row.sheet))
        if len(comment) > MAX_COMMENT:
            problems.append(RowError(row.number, "comment",
                                     f"is {len(comment):,} characters; the most is "
                                     f"{MAX_COMMENT:,}.", sheet=row.sheet))
        if site is not None and indicator is not None:
            earlier = seen.setdefault((site.pk, indicator.pk), row.number)
            if earlier != row.number:
                problems.append(RowError(row.number, "indicator_code",
                                         f"{indicator.code} for {site.code} is already on row "
                                         f"{earlier}. Keep one row.", sheet=row.sheet))
        if problems:
            errors.extend(problems)
            continue
        parsed.setdefault(site.pk, {})[indicator.pk] = (met, comment)
    for site_pk, answers in parsed.items():
        missing = [i.code for i in indicators.values() if i.pk not in answers]
        if missing:
            site = next(s for s in services.values() if s.pk == site_pk)
            errors.append(RowError(None, FILE, f"has no row for {site.code} and "
                                   + ", ".join(sorted(missing))
                                   + ". Give every indicator for each service."))
    if errors:
        raise ImportFailed(errors)
    now = timezone.now()
    for site_pk, answers in parsed.items():
        report = SelfReport.objects.select_for_update().get(
            pk=_report_for(cycle, site_pk).pk)
        for indicator_pk, (met, comment) in answers.items():
            IndicatorResponse.objects.update_or_create(
                report=report, indicator_id=indicator_pk,
                defaults={"met": met, "comment": comment})
        report.status, report.submitted_at, report.submitted_by = (
            SelfReport.Status.SUBMITTED, now, user)
        report.reopened_at = None
        report.version += 1
        report.save(update_fields=["status", "submitted_at", "submitted_by", "reopened_at",
                                   "version"])
    log_action(cycle, "self_report.imported", actor=user, scopes=[cycle.programme],
               summary=f"Imported {len(parsed)} self-report{'' if len(parsed) == 1 else 's'} "
                       f"for {cycle.name}, submitted on the services' behalf",
               data={"sites": sorted(parsed)})
    return len(parsed)


# --- regional hubs ---------------------------------------------------------------------------


def _members_by_email(emails: list[str]) -> list[User]:
    """The accounts with these addresses (stored lower-cased by ilcop.models.UserManager)."""
    found = {u.email: u for u in User.objects.filter(email__in=[e.lower() for e in emails])}
    missing = [e for e in emails if e.lower() not in found]
    if missing:
        raise ValidationError({"members": "No account uses " + ", ".join(missing)
                               + ". Check the address, or invite the person first."})
    return [found[e.lower()] for e in emails]


@transaction.atomic
def hub_save(*, programme: Programme, user: User, hub: RegionalHub | None = None, name: str,
             region: str = "", sites: list[Site], member_emails: list[str]) -> RegionalHub:
    """Make or change a hub: its services and the people in it (existing accounts, by
    email), replacing the lists it had."""
    creating = hub is None
    hub = hub or RegionalHub(programme=programme)
    errors = {}
    if RegionalHub.objects.filter(programme=programme, name__iexact=name).exclude(
            pk=hub.pk).exists():
        errors["name"] = f"There is already a hub called {name}"
    allowed = set(participant_sites(programme).values_list("pk", flat=True))
    if any(site.pk not in allowed for site in sites):
        errors["sites"] = "Select services taking part in this programme"
    if errors:
        raise ValidationError(errors)
    members = _members_by_email(member_emails)
    hub.name, hub.region = name, region
    hub.save()
    hub.sites.set(sites)
    keep = {m.pk for m in members}
    hub.memberships.exclude(user_id__in=keep).delete()
    existing = set(hub.memberships.values_list("user_id", flat=True))
    RegionalHubMembership.objects.bulk_create(
        [RegionalHubMembership(hub=hub, user=m) for m in members if m.pk not in existing])
    log_action(hub, "hub.added" if creating else "hub.updated", actor=user,
               summary=f"{'Added' if creating else 'Changed'} the regional hub {hub.name}",
               data={"sites": sorted(s.pk for s in sites), "members": sorted(keep)},
               scopes=[programme])
    return hub
