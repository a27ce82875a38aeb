"""Outcome engine: measures, response criteria, cohort statistics and batch scoring.

Rules here are pure: they take plain values or record-shaped objects and never open a database,
a file or a socket (the CLI in `commands.py` and `batch_io.py` are the only edges).
"""
