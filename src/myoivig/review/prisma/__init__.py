"""PRISMA 2020: flow counts derived from the review's event log, checked, drawn; checklist."""


class PrismaError(ValueError):
    """The events do not yield a consistent flow (the message lists the offending records/boxes)."""
