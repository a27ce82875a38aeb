"""Printable reports (HTML and PDF): patient, infusion sheet, cohort and review.

Each report's content is built here from the areas' application functions (protocol service,
outcome engine, review repository, evidence engine); the Jinja2 templates only lay it out.
"""
