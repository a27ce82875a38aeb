"""Typed clinical records and controlled vocabularies shared by every part of myoivig."""
