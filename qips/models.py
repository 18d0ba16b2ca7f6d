"""Quality improvement plans, their measures, PDSA cycles and progress updates.

Built on visits (each plan starts from a focus area agreed at a visit); the models arrive with
the QIP issue.
"""
