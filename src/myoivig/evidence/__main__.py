"""`python -m myoivig.evidence meta ...`: the evidence commands without the other areas.

The same commands as `myoivig meta ...`; this entry point skips importing the rest of the
application (store, importers), which matters for start-up-bound uses such as batch jobs.
"""

from __future__ import annotations

import typer

from myoivig.evidence.commands import register

app = typer.Typer(name="myoivig-evidence", no_args_is_help=True, pretty_exceptions_enable=False)
register(app)

if __name__ == "__main__":
    app()
