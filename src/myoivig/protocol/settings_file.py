"""Site settings for the protocol engine, read from a YAML file.

Every threshold of `ProtocolSettings` (weight policy, dose limits, rounding, rate caps, advice
rules) can be set by a clinic without code: `--settings FILE` on `dose`, `plan` and `advise`, or
the `MYOIVIG_PROTOCOL_SETTINGS` environment variable. Unknown keys and out-of-range values are
refused with the key and value named; nothing is planned with a half-read file.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from myoivig.protocol.errors import ProtocolError
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings

SETTINGS_ENV = "MYOIVIG_PROTOCOL_SETTINGS"


class SettingsFileError(ProtocolError):
    """The settings file cannot be used; it names the file, key and value."""


def load_settings(path: Path | None = None) -> ProtocolSettings:
    """Settings from `path`, else from $MYOIVIG_PROTOCOL_SETTINGS, else the documented defaults."""
    if path is None:
        env = os.environ.get(SETTINGS_ENV)
        if not env:
            return DEFAULT_SETTINGS
        path = Path(env)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SettingsFileError(f"settings file {path}: cannot be read ({error})") from error
    if not isinstance(data, dict):
        raise SettingsFileError(f"settings file {path}: expected a mapping of setting: value")
    try:
        return ProtocolSettings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}={e.get('input')!r}: {e['msg']}"
            for e in error.errors()
        )
        raise SettingsFileError(f"settings file {path}: {problems}") from error
