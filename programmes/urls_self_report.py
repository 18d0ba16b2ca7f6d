"""Standards, indicators, self-reports and regional hubs (one-way review programmes)."""

from django.urls import path

from .views import self_report as views

P = "programmes/<pk:pk>/"

urlpatterns = [
    # The core team's pages: a reciprocal programme has none of these (404).
    path(P + "standards/", views.standards, name="standards"),
    path(P + "standards/add/", views.standard_edit, name="standard_add"),
    path(P + "standards/<pk:standard_pk>/edit/", views.standard_edit, name="standard_edit"),
    path(P + "quality-indicators/", views.quality_indicators, name="quality_indicators"),
    path(P + "quality-indicators/add/", views.quality_indicator_edit,
         name="quality_indicator_add"),
    path(P + "quality-indicators/<pk:indicator_pk>/edit/", views.quality_indicator_edit,
         name="quality_indicator_edit"),
    path(P + "quality-indicators/<pk:indicator_pk>/flag/", views.quality_indicator_flag,
         name="quality_indicator_flag"),
    path(P + "quality-indicators/<pk:indicator_pk>/revise/", views.quality_indicator_revise,
         name="quality_indicator_revise"),
    path(P + "self-reports/", views.self_report_cycles, name="self_report_cycles"),
    path(P + "self-reports/add/", views.self_report_cycle_add, name="self_report_cycle_add"),
    path(P + "self-reports/<pk:cycle_pk>/edit/", views.self_report_cycle_edit,
         name="self_report_cycle_edit"),
    path(P + "self-reports/<pk:cycle_pk>/", views.self_report_results,
         name="self_report_results"),
    path(P + "self-reports/<pk:cycle_pk>/import/", views.self_report_import,
         name="self_report_import"),
    path(P + "self-reports/<pk:cycle_pk>/import/template.csv",
         views.self_report_import_template, name="self_report_import_template"),
    path(P + "hubs/", views.hubs, name="hubs"),
    path(P + "hubs/add/", views.hub_edit, name="hub_add"),
    path(P + "hubs/<pk:hub_pk>/edit/", views.hub_edit, name="hub_edit"),
    # A regional hub's members and the core team.
    path("hubs/<pk:pk>/", views.hub_results, name="hub_results"),
    # A service's own self-report: its current members and the core team.
    path("sites/<pk:pk>/self-report/", views.site_self_report, name="site_self_report"),
    path("sites/<pk:pk>/self-report/evidence/add/", views.self_report_evidence_add,
         name="self_report_evidence_add"),
    path("sites/<pk:pk>/self-report/evidence/<pk:evidence_pk>/",
         views.self_report_evidence_download, name="self_report_evidence_download"),
    path("sites/<pk:pk>/self-report/submit/", views.self_report_submit,
         name="self_report_submit"),
    path("self-reports/<pk:pk>/reopen/", views.self_report_reopen, name="self_report_reopen"),
]
