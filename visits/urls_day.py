"""URLs of the visit day (agenda, live mode, feedback, summary). See visits.views_day."""

from django.urls import path

from . import views_day

urlpatterns: list = [
    path("visits/<pk:pk>/agenda/", views_day.visit_agenda, name="visit_agenda"),
    path("visits/<pk:pk>/agenda/add/", views_day.agenda_item_add, name="agenda_item_add"),
    path("visits/<pk:pk>/agenda/<pk:item_pk>/edit/", views_day.agenda_item_edit,
         name="agenda_item_edit"),
    path("visits/<pk:pk>/agenda/<pk:item_pk>/move/", views_day.agenda_item_move,
         name="agenda_item_move"),
    path("visits/<pk:pk>/agenda/<pk:item_pk>/remove/", views_day.agenda_item_remove,
         name="agenda_item_remove"),
    path("visits/<pk:pk>/live/", views_day.visit_live, name="visit_live"),
    path("visits/<pk:pk>/live/next/", views_day.session_next, name="session_next"),
    path("visits/<pk:pk>/live/capture/", views_day.contribution_add, name="contribution_add"),
    path("visits/<pk:pk>/live/sessions/<pk:item_pk>/<slug:action>/", views_day.session_action,
         name="session_action"),
    path("visits/<pk:pk>/summary/", views_day.visit_summary, name="visit_summary"),
    path("visits/<pk:pk>/summary/feedback/<slug:team>/", views_day.feedback_save,
         name="feedback_save"),
    path("visits/<pk:pk>/summary/focus-areas/", views_day.focus_area_add,
         name="focus_area_add"),
    path("visits/<pk:pk>/summary/focus-areas/<pk:area_pk>/remove/",
         views_day.focus_area_remove, name="focus_area_remove"),
    path("visits/<pk:pk>/attendance/", views_day.attendance_mark, name="attendance_mark"),
    path("visits/<pk:pk>/notes/", views_day.facilitator_notes, name="facilitator_notes"),
]
