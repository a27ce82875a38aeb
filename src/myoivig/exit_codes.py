"""The one exit-code table of the myoivig command line (also printed in the README).

Every command ends with one of these codes so that scripts and CI can tell a refused input
from a usage mistake and from a plan that safety rules stopped.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes used by every myoivig command."""

    OK = 0
    """The command did what was asked."""
    REJECTED_INPUT = 1
    """Input was read but refused (invalid records, cells, files); nothing was written."""
    USAGE = 2
    """Wrong options, a missing record (patient, review, file) or an unusable database."""
    BLOCKED = 3
    """A safety rule with severity `block` stopped the plan; nothing is shown as ready to give."""
