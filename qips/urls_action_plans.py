"""Action plans after a review, and shared learning (one-way review programmes)."""

urlpatterns: list = []
