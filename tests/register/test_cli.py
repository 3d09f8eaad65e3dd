"""`assembly register import|show` through the real command, on a database of the test's own."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from assembly.cli import app
from assembly.register.models import Building, Estate, Ownership, Person, RegisterVersion, Unit, UnitRecord

from .registerfiles import CHINESE, ENGLISH, LI, WANG, ZHANG, ZHAO, resident_id, table, write_csv, write_xlsx

REGISTER_TABLES = (Building, Unit, Person, RegisterVersion, UnitRecord, Ownership)


def run(*args: str):
    return CliRunner().invoke(app, ["register", *args])


def counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {table.__name__: session.scalar(select(func.count()).select_from(table)) for table in REGISTER_TABLES}


def changed_table() -> list[list[str]]:
    rows = []
    for cells in table():
        if cells[0] == "1-1-101":
            cells[2] = "90.1"
        if cells[0] == "2-1-202":
            cells[5:8] = list(ZHAO)
        if cells[0] == "2-1-102":
            continue
        rows.append(cells)
    rows.append(["3-1-101", "66.6", "", "", "", ZHANG[0], ZHANG[1], ZHANG[2]])
    return rows


def test_import_then_reimport_is_unchanged(cli_engine, tmp_path):
    path = write_csv(tmp_path / "名册.csv", CHINESE, table(), encoding="gb18030")
    result = run("import", str(path), "--estate", "e1")
    assert result.exit_code == 0, result.output
    assert "version 1" in result.stdout
    assert "603.3734" in result.stdout and "4 名表决权人 members" in result.stdout
    assert "新增 added 7" in result.stdout
    with Session(cli_engine) as session:
        version = session.scalars(select(RegisterVersion)).one()
    assert version.created_by == "cli"
    assert version.reason == "导入业主名册 / register import"
    assert version.evidence_ref == f"file:名册.csv sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"

    before = counts(cli_engine)
    again = run("import", str(path), "--estate", "e1")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "未变更 / unchanged: version 1"
    assert counts(cli_engine) == before


def test_same_register_as_xlsx_is_unchanged(cli_engine, tmp_path):
    assert run("import", str(write_csv(tmp_path / "a.csv", CHINESE, table())), "--estate", "e1").exit_code == 0
    result = run("import", str(write_xlsx(tmp_path / "a.xlsx", ENGLISH, table())), "--estate", "e1")
    assert result.exit_code == 0 and "unchanged: version 1" in result.stdout


def test_changed_import_prints_the_diff(cli_engine, tmp_path):
    run("import", str(write_csv(tmp_path / "v1.csv", CHINESE, table())), "--estate", "e1")
    path = write_csv(tmp_path / "v2.csv", CHINESE, changed_table())
    result = run("import", str(path), "--estate", "e1", "--reason", "过户 / transfer", "--evidence", "京(2024)不动产权第001号")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "version 2" in out
    assert "新增 added 1 · 删除 removed 1 · 变更 changed 2" in out
    assert "3-1-101  登记 registry 66.6; 业主 owners 1" in out
    assert "2-1-102  登记 registry 60.5; 开发建设单位 developer" in out
    assert "1-1-101  实测 survey 89.5 → 90.1" in out
    assert "2-1-202  业主变更 owners changed 1 → 1" in out
    with Session(cli_engine) as session:
        latest = session.scalars(select(RegisterVersion).order_by(RegisterVersion.number.desc())).first()
    assert (latest.number, latest.reason, latest.evidence_ref) == (2, "过户 / transfer", "京(2024)不动产权第001号")


def test_long_diff_sections_are_capped(cli_engine, tmp_path):
    run("import", str(write_csv(tmp_path / "v1.csv", CHINESE, table())), "--estate", "e1")
    extra = [[f"5-1-{room}", "", "50", "", "是", "", "", ""] for room in range(101, 161)]
    result = run("import", str(write_csv(tmp_path / "v2.csv", CHINESE, table() + extra)), "--estate", "e1")
    assert result.exit_code == 0, result.output
    added = [line for line in result.stdout.splitlines() if line.startswith("  5-1-")]
    assert len(added) == 50
    assert "另有 10 套 / … and 10 more" in result.stdout


def test_bad_file_reports_every_problem_and_changes_nothing(cli_engine, tmp_path):
    run("import", str(write_csv(tmp_path / "v1.csv", CHINESE, table())), "--estate", "e1")
    before = counts(cli_engine)
    rows = changed_table()
    rows[0][2] = "八十九"  # row 2: survey area
    rows[3][6] = rows[3][6][:-1]  # row 5: identity number one digit short
    rows.append(["3-1-101", "70", "", "", "", LI[0], LI[1], ""])  # last row: area differs from 3-1-101 above
    path = write_csv(tmp_path / "bad.csv", CHINESE, rows)
    result = run("import", str(path), "--estate", "e1")
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    last = len(rows) + 1
    assert "第 2 行，列“实测面积”：不是数字" in err
    assert "第 5 行，列“证件号码”" in err
    assert f"第 {last} 行，列“不动产登记面积”" in err
    assert "3 处问题" in err
    assert counts(cli_engine) == before


def test_unknown_estate_is_one_line_exit_1(cli_engine, tmp_path):
    before = counts(cli_engine)
    result = run("import", str(write_csv(tmp_path / "a.csv", CHINESE, table())), "--estate", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["错误 / error: 没有代码为 “nope” 的小区 / no estate with the code 'nope'"]
    assert counts(cli_engine) == before
    show = run("show", "--estate", "nope")
    assert show.exit_code == 1 and len(show.stderr.strip().splitlines()) == 1


def test_not_a_register_file_exits_2(cli_engine, tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7\n...")
    result = run("import", str(path), "--estate", "e1")
    assert result.exit_code == 2 and "PDF" in result.stderr
    assert counts(cli_engine)["RegisterVersion"] == 0


def test_show_lists_versions_and_summarises(cli_engine, tmp_path):
    empty = run("show", "--estate", "e1")
    assert empty.exit_code == 0 and "no register yet" in empty.stdout
    run("import", str(write_csv(tmp_path / "v1.csv", CHINESE, table())), "--estate", "e1")
    run("import", str(write_csv(tmp_path / "v2.csv", CHINESE, changed_table())), "--estate", "e1", "--reason", "过户")
    result = run("show", "--estate", "e1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "v1 " in out and "v2 " in out and "过户" in out and "sha256:" in out
    assert "第 2 版 / version 2:" in out
    assert "房屋 units: 7" in out
    assert "开发建设单位房屋 developer units: 1" in out
    assert "表决权人 members: 4" in out
    assert "总面积 total area: 610.0734 ㎡" in out
    assert "总人数 total heads: 4" in out
    first = run("show", "--estate", "e1", "--version", "1")
    assert "总面积 total area: 603.3734 ㎡" in first.stdout and "developer units: 2" in first.stdout
    missing = run("show", "--estate", "e1", "--version", "9")
    assert missing.exit_code == 1


def test_show_unit_masks_names_and_phones(cli_engine, tmp_path):
    run("import", str(write_csv(tmp_path / "v1.csv", CHINESE, table())), "--estate", "e1")
    result = run("show", "--estate", "e1", "--unit", "1-1-102")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "李*" in out and "王*五" in out
    assert "138****8002" in out
    for secret in (LI[0], WANG[0], LI[2], LI[1], WANG[1]):
        assert secret not in out
    assert "计入面积 area that counts: 100.25 ㎡ (登记 registry)" in out
    developer = run("show", "--estate", "e1", "--unit", "2-1-101")
    assert "开发建设单位持有" in developer.stdout
    assert run("show", "--estate", "e1", "--unit", "9-9-999").exit_code == 1


@pytest.mark.parametrize("count", [1, 3])
def test_estates_are_separate_on_the_command_line(cli_engine, tmp_path, count):
    from .conftest import create_estate

    with Session(cli_engine) as session:
        create_estate(session, "e2")
        session.commit()
    rows = [[f"1-1-{100 + n}", "", "80", "", "", f"业主{n}", resident_id(100 + n), ""] for n in range(count)]
    assert run("import", str(write_csv(tmp_path / "e2.csv", CHINESE, rows)), "--estate", "e2").exit_code == 0
    assert run("import", str(write_csv(tmp_path / "e1.csv", CHINESE, table())), "--estate", "e1").exit_code == 0
    with Session(cli_engine) as session:
        e2 = session.scalars(select(Estate).where(Estate.code == "e2")).one()
        assert session.scalar(select(func.count()).select_from(Unit).where(Unit.estate_id == e2.id)) == count
    assert f"房屋 units: {count}" in run("show", "--estate", "e2").stdout


def test_gc_is_back_on_after_an_import_step():
    import gc

    from assembly.register.cli import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
