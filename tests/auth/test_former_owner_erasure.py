"""Former owners' names and phones (issue #22 item 8): kept a year after they left the register and
after the announcement of the last meeting whose roll they were on, and while any such meeting is not
final or under a case; then erased by `assembly privacy erase-former-owners`, pseudonyms only in the
log, idempotent, with a dry run."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from assembly.audit.models import AuditEntry
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.privacy import service as privacy
from assembly.register import rolls, service
from assembly.register.models import Person, RegisterVersion
from assembly.register.rows import RegisterRow
from assembly.voting.models import Meeting, Motion, Objection

PHONE = "13800138000"


def _sell(session, world, kit, *, applied):
    """1-1-101 passes from 王小明 to a buyer; the version is dated `applied`."""
    rows = [RegisterRow(unit="1-1-101", registry=Decimal("89.50"), owner_name="赵买家", id_number=kit.id_number(300)),
            RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="李秀英", id_number=kit.id_number(20)),
            RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="张建国", id_number=kit.id_number(21)),
            RegisterRow(unit="1-1-103", contract=Decimal("60"), owner_name="陈大文", id_number=kit.id_number(22)),
            RegisterRow(unit="1-1-104", registry=Decimal("61.5"), owner_name="陈大文", id_number=kit.id_number(22)),
            RegisterRow(unit="1-1-105", registry=Decimal("75"), developer=True, owner_name="开发商")]
    outcome = service.apply_register(session, estate=world.alpha.estate, rows=rows, reason="1-1-101 过户",
                                     evidence_ref="不动产登记 2025-1", actor="test", id_key=get_settings().id_hash_key)
    outcome.version.created_at = applied
    session.flush()
    return outcome.version


def _meeting(session, estate, *, version=None, announced=None, final=None) -> Meeting:
    snapshot = rolls.freeze_roll(session, estate=estate, purpose="测试会议", version=version)
    meeting = Meeting(estate_id=estate.id, title="业主大会", created_by="test", closes_at=announced or final or
                      snapshot.frozen_at, opens_at=snapshot.frozen_at, announced_at=announced, final_at=final,
                      roll_snapshot_id=snapshot.id)
    session.add(meeting)
    session.flush()
    return meeting


def _erased_entries(session, estate) -> list[dict]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id, AuditEntry.type == "owners.erased"))
    return [json.loads(bytes(row.body)) for row in rows]


def test_a_former_owners_name_and_phone_are_kept_while_needed_then_erased_once(session, world, kit):
    estate, seller, wife = world.alpha.estate, world.alpha.owners[0].person, world.alpha.owners[1].person
    seller.phone = wife.phone = PHONE
    t0 = kit.T0
    first = session.scalars(select(RegisterVersion).where(RegisterVersion.estate_id == estate.id)).one()
    old = _meeting(session, estate, announced=t0 - timedelta(days=400), final=t0 - timedelta(days=392))
    _sell(session, world, kit, applied=t0 - timedelta(days=390))
    late = _meeting(session, estate, version=first)  # frozen before the sale, result not announced yet

    (former,) = privacy.former_owners(session, estate=estate)
    assert former.person.id == seller.id and [m.id for m in former.meetings] == [old.id, late.id]
    assert former.held == [f"meeting {late.id}: result not final"]
    assert privacy.erase_former_owners(session, estate=estate, now=t0 + timedelta(days=900)).erased == []

    late.announced_at, late.final_at = t0 - timedelta(days=40), t0 - timedelta(days=30)
    motion = Motion(meeting_id=late.id, estate_id=estate.id, position=1, item=4, title="续聘", text="续聘三年。")
    session.add(motion)
    session.flush()
    objection = Objection(motion_id=motion.id, estate_id=estate.id, member_key=f"owners:{wife.pseudonym}",
                          filed_at=t0 - timedelta(days=35), entry_index=1)
    session.add(objection)
    session.flush()
    assert privacy.former_owners(session, estate=estate)[0].held == [f"meeting {late.id}: objection undecided"]
    objection.decision, objection.decided_at = "dismissed", t0 - timedelta(days=31)
    session.flush()
    (former,) = privacy.former_owners(session, estate=estate)
    assert former.keep_until == t0 - timedelta(days=40) + timedelta(days=366)  # a year after the last announcement
    assert privacy.erase_former_owners(session, estate=estate, now=t0 + timedelta(days=325)).erased == []
    due = t0 + timedelta(days=326)
    held = privacy.erase_former_owners(session, estate=estate, now=due, held_meetings=frozenset({old.id}))
    assert held.erased == [] and held.reviewed[0].held == [f"meeting {old.id}: case open (held by the operator)"]

    dry = privacy.erase_former_owners(session, estate=estate, now=due, dry_run=True)
    assert dry.erased == [seller.pseudonym] and dry.entry is None
    assert seller.name == "王小明" and seller.phone == PHONE and _erased_entries(session, estate) == []

    done = privacy.erase_former_owners(session, estate=estate, now=due)
    assert done.erased == [seller.pseudonym]
    assert seller.name == privacy.ERASED_NAME and seller.phone is None and seller.pseudonym
    assert wife.name == "李秀英" and wife.phone == PHONE  # still an owner
    (entry,) = _erased_entries(session, estate)
    assert entry["owners"] == [seller.pseudonym] and entry["count"] == 1 and entry["actor"]["role"] == "operator"
    assert "王小明" not in json.dumps(entry, ensure_ascii=False) and PHONE not in json.dumps(entry)

    again = privacy.erase_former_owners(session, estate=estate, now=due + timedelta(days=1))
    assert again.erased == [] and again.entry is None and len(_erased_entries(session, estate)) == 1
    assert again.reviewed[0].erased


def test_a_former_owner_who_was_on_no_roll_is_kept_a_year_after_leaving(session, world, kit):
    estate, seller = world.alpha.estate, world.alpha.owners[0].person
    _sell(session, world, kit, applied=kit.T0)
    assert privacy.erase_former_owners(session, estate=estate, now=kit.T0 + timedelta(days=365)).erased == []
    assert privacy.erase_former_owners(session, estate=estate, now=kit.T0 + timedelta(days=366)).erased == \
        [seller.pseudonym]
    assert world.beta.owners[0].person.name == "王小明"  # another estate's namesake is untouched


def test_the_operator_command_dry_runs_erases_and_prints_pseudonyms_only(cli_engine, kit):
    from assembly.cli import app

    with unit_of_work(cli_engine) as session:
        world = kit.build_world(session)
        seller = world.alpha.owners[0].person
        seller.phone = PHONE
        _sell(session, world, kit, applied=kit.T0 - timedelta(days=800))
        pseudonym, seller_id = seller.pseudonym, seller.id
    runner = CliRunner()
    dry = runner.invoke(app, ["privacy", "erase-former-owners", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{pseudonym}  将删除 / would erase" in dry.output and "王小明" not in dry.output and PHONE not in dry.output
    with Session(cli_engine) as session:
        assert session.get(Person, seller_id).name == "王小明"
    done = runner.invoke(app, ["privacy", "erase-former-owners", "--estate", "alpha"])
    assert done.exit_code == 0, done.output
    assert f"{pseudonym}  已删除 / erased" in done.output and "owners.erased" in done.output
    again = runner.invoke(app, ["privacy", "erase-former-owners", "--estate", "alpha"])
    assert f"{pseudonym}  此前已删除 / erased before" in again.output and "erased: 0" in again.output
    with Session(cli_engine) as session:
        person = session.get(Person, seller_id)
        assert (person.name, person.phone) == (privacy.ERASED_NAME, None)
        assert len(_erased_entries(session, world.alpha.estate)) == 1
    missing = runner.invoke(app, ["privacy", "erase-former-owners", "--estate", "nowhere"])
    assert missing.exit_code == 1 and "nowhere" in missing.output
