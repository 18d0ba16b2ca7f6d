"""URLs of the observation form. See visits.views_observation."""

from django.urls import path

from . import views_observation

urlpatterns: list = [
    path("visits/<pk:pk>/observation/", views_observation.observation_form,
         name="observation_form"),
    path("visits/<pk:pk>/observations/", views_observation.observations, name="observations"),
]
