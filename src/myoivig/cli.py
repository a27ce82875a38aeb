"""The `myoivig` command line: one sub-command group per area.

Each area owns its commands in its own module and is registered here; rules never live in this
file.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="myoivig",
    help="IVIg for inflammatory myopathies: clinic, research and evidence synthesis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# --- area registrations (one line each; keep sorted) ---------------------------------------------
from myoivig.accounts.commands import register as register_accounts  # noqa: E402
from myoivig.clinic.commands import register as register_clinic  # noqa: E402
from myoivig.evidence.commands import register as register_evidence  # noqa: E402
from myoivig.exchange.commands import register as register_exchange  # noqa: E402
from myoivig.outcomes.commands import register as register_outcomes  # noqa: E402
from myoivig.protocol.commands import register as register_protocol  # noqa: E402
from myoivig.reports.commands import register as register_reports  # noqa: E402
from myoivig.review.commands import register as register_review  # noqa: E402
from myoivig.store.commands import register as register_store  # noqa: E402
from myoivig.web.commands import register as register_web  # noqa: E402

register_accounts(app)
register_clinic(app)
register_evidence(app)
register_exchange(app)
register_outcomes(app)
register_protocol(app)
register_reports(app)
register_review(app)
register_store(app)
register_web(app)
# -------------------------------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
