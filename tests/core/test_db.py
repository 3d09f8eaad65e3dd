"""The database layer: migrations, SQLite set-up (fixed library, WAL, locking), both backends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, text

from assembly import db
from assembly.migrations import current_revision


def test_migrations_reach_head(engine):
    from alembic.script import ScriptDirectory

    from assembly.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head
    assert {"estate", "unit", "register_version", "roll_member"} <= set(inspect(engine).get_table_names())


def test_sqlite_library_is_free_of_the_wal_reset_bug():
    module = db.sqlite_module()
    assert tuple(module.sqlite_version_info) >= db.FIXED_SQLITE, module.sqlite_version
    assert db.sqlite_uses_wal(module)


def test_sqlite_connection_pragmas(engine, db_backend):
    if db_backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.LOCK_TIMEOUT_MS
        version = connection.exec_driver_sql("select sqlite_version()").scalar()
    assert tuple(int(part) for part in version.split(".")) >= db.FIXED_SQLITE


def test_old_sqlite_falls_back_to_rollback_journal():
    class Old:
        sqlite_version_info = (3, 40, 1)

    assert not db.sqlite_uses_wal(Old)


def test_writers_queue_instead_of_failing(engine_copy):
    """Two transactions writing at once: BEGIN IMMEDIATE makes the second wait, both commit."""
    with engine_copy.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(50):
                with engine_copy.begin() as connection:
                    value = connection.execute(text("SELECT n FROM counter")).scalar_one()
                    connection.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine_copy.connect() as connection:
        # Without write locks taken at BEGIN, read-modify-write would lose updates.
        if engine_copy.dialect.name == "sqlite":
            assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 200


def test_unit_of_work_rolls_back_on_error(engine_copy):
    with engine_copy.begin() as connection:
        connection.execute(text("CREATE TABLE note (body TEXT NOT NULL)"))
    with pytest.raises(RuntimeError):
        with db.unit_of_work(engine_copy) as session:
            session.execute(text("INSERT INTO note VALUES ('kept?')"))
            raise RuntimeError("boom")
    with engine_copy.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM note")).scalar_one() == 0
