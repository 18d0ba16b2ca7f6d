from django.urls import path, register_converter

from .views import home, programmes, sites, team


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
    path("sites/<pk:pk>/", sites.site_detail, name="site_detail"),
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
