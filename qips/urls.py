from django.urls import path

from . import urls_action_plans
from .views import dashboard, history, journey, parts, plans, resources

app_name = "qips"

urlpatterns = [
    path("sites/<pk:pk>/qips/", plans.site_plans, name="site_plans"),
    path("sites/<pk:pk>/qips/new/", plans.plan_create, name="plan_create"),
    path("focus-areas/<pk:pk>/qip/", plans.plan_from_focus_area, name="plan_from_focus_area"),
    path("programmes/<pk:pk>/dashboard/", dashboard.dashboard, name="dashboard"),
    path("programmes/<pk:pk>/qips/", plans.programme_plans, name="programme_plans"),
    path("programmes/<pk:pk>/library/", plans.library, name="library"),
    path("programmes/<pk:pk>/library/resources/", resources.resources, name="resources"),
    path("programmes/<pk:pk>/sites/<pk:site_pk>/journey/", journey.site_journey,
         name="site_journey"),
    # Who did what, when, to one object (qips.history): the core team only.
    path("programmes/<pk:pk>/history/<slug:kind>/<pk:object_pk>/", history.object_history,
         name="object_history"),
    path("qips/<pk:pk>/", plans.plan_detail, name="plan_detail"),
    path("qips/<pk:pk>/edit/", plans.plan_edit, name="plan_edit"),
    path("qips/<pk:pk>/report.pdf", plans.plan_pdf, name="plan_pdf"),
    path("qips/<pk:pk>/move/<slug:action>/", plans.plan_transition, name="plan_transition"),
    path("qips/<pk:pk>/comments/", plans.review_comment_add, name="review_comment_add"),
    path("qips/<pk:pk>/comments/<pk:comment_pk>/answer/", plans.review_comment_respond,
         name="review_comment_respond"),
    path("qips/<pk:pk>/support/", plans.support_add, name="support_add"),
    path("qips/<pk:pk>/progress/", parts.progress_update, name="progress_update"),
    path("qips/<pk:pk>/measures/<pk:measure_pk>/data/", parts.measure_data,
         name="measure_data"),
    path("qips/<pk:pk>/pdsa/<pk:cycle_pk>/complete/", parts.pdsa_complete,
         name="pdsa_complete"),
    path("qips/<pk:pk>/<slug:part>/add/", parts.part_edit, name="part_add"),
    path("qips/<pk:pk>/<slug:part>/<pk:part_pk>/edit/", parts.part_edit, name="part_edit"),
    path("qips/<pk:pk>/<slug:part>/<pk:part_pk>/remove/", parts.part_delete,
         name="part_delete"),
    *urls_action_plans.urlpatterns,
]
