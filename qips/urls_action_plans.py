"""Action plans after a review, and shared learning (one-way review programmes)."""

from django.urls import path

from .views import action_plans

urlpatterns: list = [
    path("reviews/<pk:pk>/action-plan/", action_plans.action_plan_create,
         name="action_plan_create"),
    path("programmes/<pk:pk>/action-plans/", action_plans.action_plans, name="action_plans"),
    path("programmes/<pk:pk>/reviews/themes/", action_plans.review_themes,
         name="review_themes"),
    path("findings/<pk:pk>/library/", action_plans.finding_to_library,
         name="finding_to_library"),
]
