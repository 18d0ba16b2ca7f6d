"""Peer reviews: set-up, team, lines of enquiry, checklist, documents (one-way review programmes)."""

urlpatterns: list = []
