"""Surveillance decisions and the reviewer pool (one-way review programmes)."""

urlpatterns: list = []
