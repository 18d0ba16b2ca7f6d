"""A review's report: distribution, delivery, visibility, publication (one-way programmes)."""

from django.urls import path

from . import views_review_reports as views

urlpatterns: list = [
    path("reviews/<pk:pk>/distribution/", views.review_distribution,
         name="review_distribution"),
    path("reviews/<pk:pk>/distribution/add/", views.review_recipient_add,
         name="review_recipient_add"),
    path("reviews/<pk:pk>/distribution/add-team/", views.review_recipients_add_team,
         name="review_recipients_add_team"),
    path("reviews/<pk:pk>/distribution/<pk:recipient_pk>/remove/",
         views.review_recipient_remove, name="review_recipient_remove"),
    path("reviews/<pk:pk>/publication/", views.review_publication, name="review_publication"),
    path("reviews/<pk:pk>/publication/findings/<pk:finding_pk>/",
         views.review_published_evidence, name="review_published_evidence"),
    path("reviews/<pk:pk>/publication/approve/", views.review_redaction_approve,
         name="review_redaction_approve"),
    path("reviews/<pk:pk>/publication/visibility/", views.review_visibility,
         name="review_visibility"),
    path("programmes/<pk:pk>/reviews/published/", views.published_reviews,
         name="published_reviews"),
    path("reviews/<pk:pk>/published/", views.published_review, name="published_review"),
]
