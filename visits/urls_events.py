"""URLs of national workshops and online conferences. See visits.views_events."""

from django.urls import path

from . import views_events

urlpatterns: list = [
    path("programmes/<pk:pk>/events/", views_events.programme_events, name="programme_events"),
    path("programmes/<pk:pk>/events/new/", views_events.event_create, name="event_create"),
    path("events/<pk:pk>/", views_events.event_detail, name="event_detail"),
    path("events/<pk:pk>/edit/", views_events.event_edit, name="event_edit"),
    path("events/<pk:pk>/sessions/add/", views_events.event_session_add,
         name="event_session_add"),
    path("events/<pk:pk>/sessions/<pk:session_pk>/edit/", views_events.event_session_edit,
         name="event_session_edit"),
    path("events/<pk:pk>/sessions/<pk:session_pk>/remove/", views_events.event_session_remove,
         name="event_session_remove"),
    path("events/<pk:pk>/invite/", views_events.event_invite, name="event_invite"),
    path("events/<pk:pk>/cancel/", views_events.event_cancel, name="event_cancel"),
    path("events/<pk:pk>/calendar.ics", views_events.event_calendar, name="event_calendar"),
]
