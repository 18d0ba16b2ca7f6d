"""URLs of the visit report. See visits.views_report."""

from django.urls import path

from . import views_report

urlpatterns: list = [
    path("visits/<pk:pk>/report/", views_report.visit_report, name="visit_report"),
    path("visits/<pk:pk>/report/draft.pdf", views_report.visit_report_draft_pdf,
         name="visit_report_draft_pdf"),
    path("visits/<pk:pk>/report/v<pk:version>.pdf", views_report.visit_report_pdf,
         name="visit_report_pdf"),
    path("visits/<pk:pk>/report/approve/", views_report.visit_report_approve,
         name="visit_report_approve"),
    path("visits/<pk:pk>/report/v<pk:version>/retry/", views_report.visit_report_retry,
         name="visit_report_retry"),
]
