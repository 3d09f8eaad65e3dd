"""Test databases: SQLite (default) or PostgreSQL, built with `alembic upgrade head`, never create_all.

Choose with `--db sqlite|postgresql` or ASSEMBLY_TEST_DB. Each session migrates one template
database; `session` runs a test inside a transaction that is rolled back, `engine_copy` gives a test
its own committed-to copy of the template (for CLI runs, concurrency and anything that commits).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from assembly import wiring
from assembly.db import make_engine
from assembly.migrations import upgrade

PG_ADMIN_URL = os.environ.get("ASSEMBLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
wiring.install()  # the tests compose the application's reactions as the app and the command line do


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("ASSEMBLY_TEST_DB", "sqlite"),
        help="database backend the suite runs against",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"assembly database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


def _pg_admin():
    import psycopg

    url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


class DatabaseFactory:
    """Makes migrated databases: one template per test session, cheap copies per test."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.prefix = f"assembly_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.engines: list[Engine] = []
        self.template_url = self._make_template()

    def _make_template(self) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.workdir / 'template.sqlite3'}"
        else:
            try:
                admin = _pg_admin()
            except Exception as error:  # noqa: BLE001 - report why PostgreSQL is unusable
                message = f"PostgreSQL at {PG_ADMIN_URL} does not answer: {error}"
                if IN_CI:
                    pytest.exit(message, returncode=3)
                pytest.skip(message)
            name = f"{self.prefix}_tpl"
            with admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = _pg_url(name)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url

    def copy(self) -> Engine:
        if self.backend == "sqlite":
            target = self.workdir / f"{uuid.uuid4().hex}.sqlite3"
            shutil.copyfile(self.template_url.removeprefix("sqlite:///"), target)
            url = f"sqlite:///{target}"
        else:
            name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
            with _pg_admin() as admin:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.prefix}_tpl"')
            self.created.append(name)
            url = _pg_url(name)
        engine = make_engine(url)
        self.engines.append(engine)
        return engine

    def discard(self, engine: Engine) -> None:
        """Close a copy's connections and remove it (PostgreSQL allows ~100 connections in all)."""
        engine.dispose()
        if engine in self.engines:
            self.engines.remove(engine)
        if self.backend == "sqlite":
            path = Path(engine.url.database)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            name = engine.url.database
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created.remove(name)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        if self.backend == "postgresql" and self.created:
            with _pg_admin() as admin:
                for name in reversed(self.created):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(db_backend, tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def engine(databases: DatabaseFactory) -> Engine:
    """The session's shared migrated database; use it only through `session` (rolled back)."""
    return databases.copy()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
            yield db
        transaction.rollback()


@pytest.fixture
def engine_copy(databases: DatabaseFactory) -> Iterator[Engine]:
    """A fresh migrated database of the test's own, for code that commits; removed afterwards."""
    engine = databases.copy()
    yield engine
    databases.discard(engine)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


def pytest_configure(config: pytest.Config) -> None:
    # Tests never read a developer's var/ or secrets; fixed test secrets, a temporary var dir.
    os.environ["ASSEMBLY_ENV"] = "test"
    os.environ.setdefault("ASSEMBLY_SECRET_KEY", "test-only-secret-key-" + "k" * 40)
    os.environ.setdefault("ASSEMBLY_ID_HASH_KEY", "test-only-id-hash-key-" + "h" * 40)
    if "ASSEMBLY_VAR_DIR" not in os.environ:
        import tempfile

        os.environ["ASSEMBLY_VAR_DIR"] = tempfile.mkdtemp(prefix="assembly-test-var-")


def _hypothesis_profiles() -> None:
    from hypothesis import HealthCheck, settings

    # No deadlines: a test checks, a benchmark measures (timing never fails a test).
    settings.register_profile("dev", max_examples=200, deadline=None)
    settings.register_profile(
        "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


_hypothesis_profiles()


@pytest.fixture(autouse=True, scope="session")
def holiday_calendar_beyond_its_years():
    """The suite runs on the real clock, and its meetings' notice periods run weeks past it: into
    a year the packaged holiday calendar may not cover yet (the State Council announces a year's
    holidays late in the year before). The platform refuses such a year (tests/voting/test_notice.py
    checks it with the packaged calendar itself); for every other test the calendar is extended by
    three years of weekends only, so that the suite does not start failing on a date."""
    import dataclasses

    from assembly.law import notice

    packaged = notice.CHINA
    notice.CHINA = dataclasses.replace(packaged, last=packaged.last + 3)
    yield
    notice.CHINA = packaged
