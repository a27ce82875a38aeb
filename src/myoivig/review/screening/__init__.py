"""Screening: blinded dual review, agreement, active-learning ranking and a stopping rule.

The workflow is a pure function of an append-only list of decision events, so persistence (a file
today, the review store later) stays a thin layer and PRISMA counts can be derived from the events.
"""
