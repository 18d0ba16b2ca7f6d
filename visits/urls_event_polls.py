from django.urls import path

from . import views_event_polls as views

urlpatterns = [
    path("events/<pk:pk>/poll/new/", views.event_poll_open, name="event_poll_open"),
    path("events/<pk:pk>/poll/", views.event_poll_results, name="event_poll_results"),
    path("events/<pk:pk>/date/", views.event_choose_date, name="event_choose_date"),
]
