"""Visits between paired sites: scheduling, the visit day, observation and feedback.

Built on programmes (pairs of enrolled sites); the models arrive with the visits issues.
"""
