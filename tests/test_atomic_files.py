"""The one helper that writes user-facing files: checked first, replaced whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from myoivig.atomic_files import OutputPathError, check_output, replacing, write_text


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("computation failed halfway")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "sub" / "out.txt", "x")
    finally:
        os.umask(umask)
    assert path.read_text() == "x" and (path.stat().st_mode & 0o777) == 0o644


def test_unknown_extension_and_folder_targets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match=r"unknown output extension \(\.jpg\).*\.png"):
        check_output(tmp_path / "f.jpg", {".png", ".svg"})
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output(tmp_path)
    (tmp_path / "plain").write_text("")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output(tmp_path / "plain" / "f.png")


def test_folder_without_write_permission_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root ignores chmod; fake it
    with pytest.raises(OutputPathError, match="is not writable"):
        check_output(tmp_path / "f.png")
