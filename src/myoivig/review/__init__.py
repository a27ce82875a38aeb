"""Systematic review workflow (package marker; the review branch owns its contents)."""
