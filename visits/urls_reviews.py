"""A one-way peer review's set-up: team, guidance, checklist, lines of enquiry, documents and
the contact with a service reviewed before. See visits.views_reviews."""

from django.urls import path

from . import views_reviews

urlpatterns: list = [
    path("decisions/<pk:pk>/review/", views_reviews.review_create, name="review_create"),
    path("programmes/<pk:pk>/reviews/", views_reviews.programme_reviews,
         name="programme_reviews"),
    path("reviews/<pk:pk>/", views_reviews.review_detail, name="review_detail"),
    path("reviews/<pk:pk>/guidance/", views_reviews.review_guidance, name="review_guidance"),
    path("reviews/<pk:pk>/team/", views_reviews.review_team, name="review_team"),
    path("reviews/<pk:pk>/checklist/<pk:item_pk>/", views_reviews.review_checklist_toggle,
         name="review_checklist_toggle"),
    path("reviews/<pk:pk>/lines/add/", views_reviews.review_line_add, name="review_line_add"),
    path("reviews/<pk:pk>/lines/agree/", views_reviews.review_lines_agree,
         name="review_lines_agree"),
    path("reviews/<pk:pk>/lines/<pk:line_pk>/edit/", views_reviews.review_line_edit,
         name="review_line_edit"),
    path("reviews/<pk:pk>/lines/<pk:line_pk>/remove/", views_reviews.review_line_remove,
         name="review_line_remove"),
    path("reviews/<pk:pk>/documents/add/", views_reviews.review_document_add,
         name="review_document_add"),
    path("reviews/<pk:pk>/documents/<pk:document_pk>/", views_reviews.review_document_download,
         name="review_document_download"),
    path("reviews/<pk:pk>/previous-contact/", views_reviews.review_previous_contact,
         name="review_previous_contact"),
]
