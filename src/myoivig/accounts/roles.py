"""The five roles of issue 12 and what each may do (one table, read by pages, API and CLI)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    """Users, sites and settings; reads every patient."""
    CLINICIAN = "clinician"
    """Reads and writes the patients of their own sites."""
    PHARMACIST = "pharmacist"
    """Reads the patients of their own sites (approves or overrides dose plans)."""
    RESEARCHER = "researcher"
    """Reads pseudonymised data of every site: no names, no dates of birth, no writes."""
    REVIEWER = "reviewer"
    """The evidence area only: no patient data at all."""


READS_PATIENTS = frozenset({Role.ADMIN, Role.CLINICIAN, Role.PHARMACIST, Role.RESEARCHER})
WRITES_PATIENTS = frozenset({Role.CLINICIAN})
ALL_SITES = frozenset({Role.ADMIN, Role.RESEARCHER})
PSEUDONYMISED = frozenset({Role.RESEARCHER})
MANAGES_USERS = frozenset({Role.ADMIN})
