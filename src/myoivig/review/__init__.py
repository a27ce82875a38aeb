"""Systematic review workflow: protocol, import, search, dedup, extraction, appraisal, PRISMA.

Screening lives in the `screening` subpackage (another area). Everything here except `commands`,
`pubmed` (network) and `tables` (ORM) is pure functions over plain records.
"""
