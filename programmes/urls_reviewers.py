"""Surveillance decisions and the reviewer pool (one-way review programmes)."""

from django.urls import path

from .views import decisions, reviewers

urlpatterns: list = [
    path("self-reports/<pk:pk>/decision/", decisions.surveillance_decision,
         name="surveillance_decision"),
    path("programmes/<pk:pk>/decisions/", decisions.surveillance_decisions,
         name="surveillance_decisions"),
    path("programmes/<pk:pk>/reviewers/", reviewers.reviewers, name="reviewers"),
    path("programmes/<pk:pk>/reviewers/add/", reviewers.reviewer_add, name="reviewer_add"),
    path("programmes/<pk:pk>/reviewers/<pk:reviewer_pk>/", reviewers.reviewer_edit,
         name="reviewer_edit"),
    path("programmes/<pk:pk>/reviewers/<pk:reviewer_pk>/conflicts/add/",
         reviewers.reviewer_conflict_add, name="reviewer_conflict_add"),
    path("programmes/<pk:pk>/reviewers/<pk:reviewer_pk>/conflicts/<pk:conflict_pk>/remove/",
         reviewers.reviewer_conflict_remove, name="reviewer_conflict_remove"),
    # A reviewer's own page: their pools, their reviews and the conflicts they declare.
    path("reviewing/", reviewers.my_reviewing, name="my_reviewing"),
    path("reviewing/conflicts/add/", reviewers.my_conflict_add, name="my_conflict_add"),
]
