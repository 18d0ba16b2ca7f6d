from django.urls import path

from .views import home, programmes, sites, team

app_name = "programmes"

urlpatterns = [
    path("", home.home, name="home"),
    path("programmes/new/", programmes.programme_create, name="programme_create"),
    path("programmes/<int:pk>/", programmes.programme_detail, name="programme_detail"),
    path("programmes/<int:pk>/edit/", programmes.programme_edit, name="programme_edit"),
    path("programmes/<int:pk>/sites/", sites.enrolment_list, name="enrolment_list"),
    path("programmes/<int:pk>/sites/add/", sites.site_add, name="site_add"),
    path("programmes/<int:pk>/sites/import/", sites.site_import, name="site_import"),
    path("programmes/<int:pk>/sites/import/template.csv", sites.site_import_template,
         name="site_import_template"),
    path("programmes/<int:pk>/organisations/add/", sites.organisation_add,
         name="organisation_add"),
    path("programmes/<int:pk>/enrolments/<int:enrolment_pk>/move/", sites.enrolment_move,
         name="enrolment_move"),
    path("programmes/<int:pk>/core-team/invite/", team.core_team_invite,
         name="core_team_invite"),
    path("sites/<int:pk>/", sites.site_detail, name="site_detail"),
    path("sites/<int:pk>/edit/", sites.site_edit, name="site_edit"),
    path("sites/<int:pk>/team/invite/", team.site_team_invite, name="site_team_invite"),
    path("sites/<int:pk>/team/<int:membership_pk>/remove/", team.site_member_remove,
         name="site_member_remove"),
    path("invitations/<int:invitation_pk>/resend/", team.invitation_resend,
         name="invitation_resend"),
    path("invitations/<int:invitation_pk>/withdraw/", team.invitation_revoke,
         name="invitation_revoke"),
    path("invitations/<str:token>/", team.invitation_accept, name="invitation_accept"),
]
