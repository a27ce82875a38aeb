#!/usr/bin/env bash
# Known-vulnerability audit of the installed environment (issue 15, item 7; docs/reliability.md).
# Every installed distribution is looked up in PyPI's vulnerability data (`-s pypi`: PyPI's JSON
# API per name and version; OSV is not reachable from every CI machine). The project itself is
# not on PyPI and is skipped (`--skip-editable`). `--strict` makes a distribution that could not
# be looked up a failure, so an audit that could not run never passes as "no known
# vulnerabilities". Exit codes: 0 clean; 1 vulnerable, not audited, or PyPI unreachable.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV_BIN:-.venv/bin}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$BIN/pip-audit" -s pypi --skip-editable --strict --progress-spinner off --desc on \
  --timeout 30 >"$out" 2>&1
status=$?
cat "$out"
if [ "$status" -eq 0 ]; then
  echo "pip-audit: no known vulnerable dependency"
  exit 0
fi
if grep -qE "ConnectionError|ConnectTimeout|ReadTimeout|NameResolutionError|ProxyError|Max retries exceeded" "$out"; then
  echo "pip-audit FAILED: PyPI's vulnerability service could not be reached from this machine" \
    "(network); the dependencies were NOT audited. Re-run when https://pypi.org is reachable." >&2
elif grep -q "could not be audited" "$out"; then
  echo "pip-audit FAILED: an installed distribution could not be looked up on PyPI (named" \
    "above; its per-version JSON API https://pypi.org/pypi/<name>/<version>/json answered 404 or" \
    "nothing), so the dependencies were NOT audited. A mirror or proxy in front of pypi.org" \
    "that does not pass that API does this." >&2
else
  echo "pip-audit FAILED: known vulnerable dependencies (listed above, with the fixed versions);" \
    "raise the minimum versions in pyproject.toml, or record in docs/reliability.md why an" \
    "advisory does not apply." >&2
fi
exit 1
