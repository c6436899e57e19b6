"""The SQLite files of the collector (password hashes, sessions, evidence files are inside)
are the owner's alone, 0600 with their -wal and -shm, whatever the umask; a directory the
collector creates for them is 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from collector.cli import main
from collector.demo.run import _prepare_db
from collector.storage.connect import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_database_and_its_wal_and_shm_are_0600(umask: int, tmp_path: Path) -> None:
    db = tmp_path / "ioc.db"
    migrated = CliRunner().invoke(main, ["migrate", "--db", str(db)])
    assert migrated.exit_code == 0, migrated.output
    added = CliRunner().invoke(
        main,
        ["user", "add", "--db", str(db), "--username", "can-bo", "--role", "viewer"],
        input="mat-khau-123\nmat-khau-123\n",
    )
    assert added.exit_code == 0, added.output
    engine = make_engine(str(db))
    try:
        with engine.connect() as conn:  # open: the -wal and -shm files exist meanwhile
            conn.execute(text("SELECT count(*) FROM users")).scalar_one()
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()


def test_an_existing_file_keeps_its_mode_and_a_missing_directory_is_not_made(
    umask: int, tmp_path: Path
) -> None:
    kept = tmp_path / "shared.db"
    kept.touch()
    kept.chmod(0o640)
    assert CliRunner().invoke(main, ["migrate", "--db", str(kept)]).exit_code == 0
    assert mode(kept) == 0o640
    # A directory not there yet (a volume mounted late) is waited for, never made.
    later = tmp_path / "later" / "ioc.db"
    assert CliRunner().invoke(main, ["migrate", "--db", str(later)]).exit_code == 1
    assert not later.parent.exists()


def test_the_demo_makes_its_directory_0700(umask: int, tmp_path: Path) -> None:
    existing = tmp_path / "srv"
    existing.mkdir()
    existing.chmod(0o755)
    db = _prepare_db(existing / "demo" / "nested" / "ioc.db")
    assert mode(existing / "demo") == 0o700
    assert mode(existing / "demo" / "nested") == 0o700
    assert mode(existing) == 0o755  # a directory that was there is left as it was
    engine = make_engine(str(db))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert mode(db) == 0o600
