"""URLs of the observation form. See visits.views_observation."""

urlpatterns: list = []
