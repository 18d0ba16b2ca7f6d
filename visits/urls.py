from django.urls import path

from . import (
    urls_day,
    urls_event_polls,
    urls_event_responses,
    urls_events,
    urls_observation,
    urls_report,
    views,
    views_data_pack,
)

app_name = "visits"

urlpatterns = [
    path("programmes/<pk:pk>/visits/", views.programme_visits, name="programme_visits"),
    path("programmes/<pk:pk>/visits/create/", views.visits_create, name="visits_create"),
    path("programmes/<pk:pk>/visits/rotation/", views.rotation_create, name="rotation_create"),
    path("programmes/<pk:pk>/visits/schedule/", views.schedule, name="schedule"),
    path("programmes/<pk:pk>/logistics/", views.logistics, name="logistics"),
    path("sites/<pk:pk>/visits/", views.site_visits, name="site_visits"),
    path("visits/<pk:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<pk:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<pk:pk>/poll/new/", views.poll_open, name="poll_open"),
    path("visits/<pk:pk>/poll/", views.poll_results, name="poll_results"),
    path("visits/<pk:pk>/date/", views.visit_choose_date, name="visit_choose_date"),
    path("visits/<pk:pk>/confirm/", views.visit_confirm, name="visit_confirm"),
    path("visits/<pk:pk>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("visits/<pk:pk>/happened/", views.visit_happened, name="visit_happened"),
    path("visits/<pk:pk>/attendees/add/", views.attendee_add, name="attendee_add"),
    path("visits/<pk:pk>/attendees/<pk:attendee_pk>/remove/", views.attendee_remove,
         name="attendee_remove"),
    path("visits/<pk:pk>/tasks/<pk:task_pk>/", views.task_toggle, name="task_toggle"),
    path("visits/<pk:pk>/data-pack/", views_data_pack.data_pack, name="data_pack"),
    path("visits/<pk:pk>/data-pack.pdf", views_data_pack.data_pack_pdf, name="data_pack_pdf"),
    path("availability/<str:token>/", views.poll_answer, name="poll_answer"),
    *urls_day.urlpatterns,
    *urls_events.urlpatterns,
    *urls_observation.urlpatterns,
    *urls_report.urlpatterns,
    *urls_event_responses.urlpatterns,
    *urls_event_polls.urlpatterns,
]
