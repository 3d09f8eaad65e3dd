"""The installed package carries web/, the migrations and the message catalogs (a wheel, not only a checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_templates_static_files_migrations_and_catalogs(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("assembly-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "assembly/_web/templates/base.html" in names
    assert any(name.startswith("assembly/_web/static/vendor/htmx-") for name in names)
    assert "assembly/_alembic/env.py" in names
    # the message catalogs (read as .po at run time: nothing to compile)
    assert {"assembly/locale/en/LC_MESSAGES/messages.po", "assembly/locale/zh_CN/LC_MESSAGES/messages.po"} <= names
    migrations = {name for name in names if name.startswith("assembly/_alembic/versions/")}
    on_disk = {path.name for path in (ROOT / "alembic" / "versions").glob("*.py")}
    assert {Path(name).name for name in migrations} == on_disk
