"""Who may see a one-way peer review, and who may read its report.

A review (visits.models.PeerReview) is seen by:

- the programme's core team;
- the current members of the service under review;
- the reviewers on its team.

Anyone else gets a 404. The report is read in full by those people, and is emailed to
exactly its distribution list (visits.services.report). Beyond them, only the redacted
version approved by the core team is shown, and only as widely as the review's visibility
says (``may_read_published``): its organisation, its network, the whole programme, or
everyone (a public page that needs no account). Every page that shows a review's report or
its published version asks these functions; none decides for itself.
"""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from ilcop.models import User
from programmes.models import Programme, SiteMembership
from programmes.selectors.participants import is_core_team, participant_programmes

from .models import PeerReview, Visit

Visibility = PeerReview.Visibility


def visible_reviews(user: User) -> QuerySet[PeerReview]:
    if not user.is_authenticated:
        return PeerReview.objects.none()
    return PeerReview.objects.filter(
        Q(programme__core_team__user=user)
        | Q(site__memberships__user=user, site__memberships__ended_at__isnull=True)
        | Q(team__reviewer__user=user)
    ).distinct()


def review_for_user(user: User, pk: int) -> PeerReview:
    return get_object_or_404(visible_reviews(user).select_related(
        "programme", "site__organisation", "decision__report__cycle"), pk=pk)


def review_for_core_team(user: User, pk: int) -> PeerReview:
    return get_object_or_404(PeerReview.objects.filter(programme__core_team__user=user)
                             .select_related("programme", "site__organisation",
                                             "decision__report__cycle"), pk=pk)


def is_reviewer(user: User, review: PeerReview) -> bool:
    return user.is_authenticated and review.team.filter(reviewer__user=user).exists()


def is_service_member(user: User, review: PeerReview) -> bool:
    return user.is_authenticated and SiteMembership.objects.current().filter(
        site_id=review.site_id, user=user).exists()


def report_visit(review: PeerReview) -> Visit | None:
    """The visit a review's report hangs on (VisitReport): its last visit that was not
    cancelled. A one-day review has one visit; a deep dive's report follows its last."""
    return (review.visits.exclude(status=Visit.Status.CANCELLED)
            .order_by("-date", "-pk").first())


def is_published(review: PeerReview) -> bool:
    return review.redaction_approved_at is not None and bool(review.published_html)


def may_read_published(user: User, review: PeerReview) -> bool:
    """Whether ``user`` may read the review's published (redacted) report. Those who may read
    the full report may read this too."""
    if not is_published(review):
        return False
    if review.visibility == Visibility.PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    if visible_reviews(user).filter(pk=review.pk).exists():
        return True
    return _published_to(user, review.programme).filter(pk=review.pk).exists()


def _published_to(user: User, programme: Programme) -> QuerySet[PeerReview]:
    """The programme's published reviews a participant may read because of the visibility
    (leaving out those they see anyway as core team, service member or reviewer)."""
    mine = SiteMembership.objects.current().filter(user=user)
    organisations = mine.values("site__organisation_id")
    networks = mine.exclude(site__organisation__network="").values(
        "site__organisation__network")
    reviews = PeerReview.objects.filter(programme=programme, redaction_approved_at__isnull=False)
    wider = Q(visibility=Visibility.PUBLIC)
    if participant_programmes(user).filter(pk=programme.pk).exists():
        wider |= Q(visibility=Visibility.NATIONAL)
    return reviews.filter(
        wider
        | Q(visibility=Visibility.NETWORK, site__organisation__network__in=networks)
        | Q(visibility__in=(Visibility.ORGANISATION, Visibility.NETWORK),
            site__organisation_id__in=organisations))


def published_reviews_for(user: User, programme: Programme) -> QuerySet[PeerReview]:
    """Every published review of ``programme`` that ``user`` may read: the programme's
    library of review reports."""
    if is_core_team(user, programme):
        return PeerReview.objects.filter(programme=programme,
                                         redaction_approved_at__isnull=False)
    return PeerReview.objects.filter(
        Q(pk__in=_published_to(user, programme).values("pk"))
        | Q(pk__in=visible_reviews(user).filter(programme=programme).values("pk")),
        programme=programme, redaction_approved_at__isnull=False)
