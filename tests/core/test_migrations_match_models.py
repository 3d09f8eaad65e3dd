"""The migrations build exactly the schema the models describe (no table or column left behind).

A model changed without its migration, or a table module missing from load_all_models (Alembic's
autogenerate would then propose dropping its table), fails here on both databases.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assembly.tables import load_all_models


def test_models_and_migrations_agree(engine):
    metadata = load_all_models().metadata
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


CHECK_ALL_TABLES_LOADED = """
import pkgutil, sys
import assembly
from assembly.tables import load_all_models
known = set(load_all_models().metadata.tables)
for module in pkgutil.walk_packages(assembly.__path__, "assembly."):
    if not module.name.endswith("__main__"):
        __import__(module.name)
extra = set(load_all_models().metadata.tables) - known
print(sorted(extra))
sys.exit(1 if extra else 0)
"""


def test_every_table_module_is_loaded():
    """In a fresh interpreter: importing every module adds no table load_all_models missed."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CHECK_ALL_TABLES_LOADED], capture_output=True, text=True)
    assert done.returncode == 0, f"tables missing from load_all_models: {done.stdout} {done.stderr[-500:]}"
