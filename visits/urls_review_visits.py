"""A review's visits and its findings against the standards (one-way review programmes)."""

from django.urls import path

from . import views_review_visits as views

urlpatterns = [
    path("reviews/<pk:pk>/visits/add/", views.review_visit_add, name="review_visit_add"),
    path("reviews/<pk:pk>/findings/", views.review_findings, name="review_findings"),
    path("reviews/<pk:pk>/findings/<pk:standard_pk>/", views.review_finding_edit,
         name="review_finding_edit"),
]
