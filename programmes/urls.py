from django.urls import path, register_converter

from .views import allocation, audit, home, programmes, sites, team


class PrimaryKeyConverter:
    """Like <int:>, but at most 18 digits: a longer number is a 404, not a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(PrimaryKeyConverter, "pk")

app_name = "programmes"

urlpatterns = [
    path("", home.home, name="home"),
    path("programmes/new/", programmes.programme_create, name="programme_create"),
    path("programmes/<pk:pk>/", programmes.programme_detail, name="programme_detail"),
    path("programmes/<pk:pk>/edit/", programmes.programme_edit, name="programme_edit"),
    path("programmes/<pk:pk>/sites/", sites.enrolment_list, name="enrolment_list"),
    path("programmes/<pk:pk>/sites/add/", sites.site_add, name="site_add"),
    path("programmes/<pk:pk>/sites/import/", sites.site_import, name="site_import"),
    path("programmes/<pk:pk>/sites/import/template.csv", sites.site_import_template,
         name="site_import_template"),
    path("programmes/<pk:pk>/organisations/add/", sites.organisation_add,
         name="organisation_add"),
    path("programmes/<pk:pk>/enrolments/<pk:enrolment_pk>/move/", sites.enrolment_move,
         name="enrolment_move"),
    path("programmes/<pk:pk>/core-team/invite/", team.core_team_invite,
         name="core_team_invite"),
    path("programmes/<pk:pk>/indicators/", audit.indicator_list, name="indicator_list"),
    path("programmes/<pk:pk>/indicators/add/", audit.indicator_edit, name="indicator_add"),
    path("programmes/<pk:pk>/indicators/<pk:indicator_pk>/edit/", audit.indicator_edit,
         name="indicator_edit"),
    path("programmes/<pk:pk>/indicators/import/", audit.audit_import_view, name="audit_import"),
    path("programmes/<pk:pk>/eligibility/", audit.eligibility_check, name="eligibility_check"),
    path("programmes/<pk:pk>/randomisation/", allocation.randomisation_page,
         name="randomisation"),
    path("programmes/<pk:pk>/randomisation/<pk:run_pk>/confirm/",
         allocation.randomisation_confirm, name="randomisation_confirm"),
    path("programmes/<pk:pk>/pairing/", allocation.pairing_page, name="pairing"),
    path("programmes/<pk:pk>/pairing/pairs/<pk:pair_pk>/lock/", allocation.pair_lock,
         name="pair_lock"),
    path("programmes/<pk:pk>/pairing/pairs/<pk:pair_pk>/break/", allocation.pair_break,
         name="pair_break"),
    path("programmes/<pk:pk>/pairing/make/", allocation.pair_make, name="pair_make"),
    path("programmes/<pk:pk>/pairing/swap/", allocation.pairs_swap, name="pairs_swap"),
    path("programmes/<pk:pk>/pairing/conflicts/add/", allocation.pairing_conflict_add,
         name="pairing_conflict_add"),
    path("programmes/<pk:pk>/pairing/conflicts/<pk:conflict_pk>/remove/",
         allocation.pairing_conflict_remove, name="pairing_conflict_remove"),
    path("programmes/<pk:pk>/pairing/confirm/", allocation.pairing_confirm,
         name="pairing_confirm"),
    path("programmes/<pk:pk>/pairing/reopen/", allocation.pairing_reopen,
         name="pairing_reopen"),
    path("sites/<pk:pk>/", sites.site_detail, name="site_detail"),
    path("sites/<pk:pk>/data/", audit.site_data, name="site_data"),
    path("sites/<pk:pk>/edit/", sites.site_edit, name="site_edit"),
    path("sites/<pk:pk>/team/invite/", team.site_team_invite, name="site_team_invite"),
    path("sites/<pk:pk>/team/<pk:membership_pk>/remove/", team.site_member_remove,
         name="site_member_remove"),
    path("invitations/<pk:invitation_pk>/resend/", team.invitation_resend,
         name="invitation_resend"),
    path("invitations/<pk:invitation_pk>/withdraw/", team.invitation_revoke,
         name="invitation_revoke"),
    path("invitations/<str:token>/", team.invitation_accept, name="invitation_accept"),
]
