"""A register version's facts per unit, the diff between two versions, and the units of a roll.

Comparable values (UnitFacts) so that two versions diff by equality; owners by identity hash.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from assembly.area import format_area
from assembly.law import rules
from assembly.register.models import Ownership, Person, Unit, UnitRecord


@dataclass(frozen=True)
class UnitFacts:
    """A unit's facts in one version, comparable across versions."""

    developer: bool
    registry: Decimal | None
    survey: Decimal | None
    contract: Decimal | None
    owners: frozenset[str]  # id hashes
    # issue #24 item 7: who is an owner, bulk resellers, parking spaces and storage rooms
    basis: str = "registered"  # registered | delivered (SPC Art. 1 ¶2)
    evidence: str = ""  # the delivery evidence's reference, for "delivered"
    reseller: bool = False  # a bulk reseller's unit (developer is True too: SPC Art. 17)
    kind: str = "dwelling"  # dwelling | parking | storage

    def describe(self) -> dict:
        described = {
            "developer": self.developer,
            "area": {
                name: format_area(value)
                for name, value in (("registry", self.registry), ("survey", self.survey), ("contract", self.contract))
                if value is not None
            },
            "owners": len(self.owners),
        }
        # only what differs from the defaults: registers imported before keep their digest
        if self.basis != "registered":
            described |= {"basis": self.basis, "evidence": self.evidence}
        if self.reseller:
            described["reseller"] = True
        if self.kind != "dwelling":
            described["kind"] = self.kind
        return described


@dataclass
class RegisterDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, dict] = field(default_factory=dict)  # unit → {"before": …, "after": …}
    # The facts of the added units (as imported) and of the removed ones (as they were), for
    # listings; not part of as_dict(), which is what the version stores.
    added_facts: dict[str, UnitFacts] = field(default_factory=dict, repr=False)
    removed_facts: dict[str, UnitFacts] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def version_facts(session: Session, *, version_id: int) -> dict[str, UnitFacts]:
    """unit code → facts, for one version (two queries, no per-unit round trips)."""
    owners: dict[int, set[str]] = defaultdict(set)
    ownership_query = (
        select(Ownership.unit_id, Person.id_hash)
        .join(Person, Person.id == Ownership.person_id)
        .where(Ownership.version_id == version_id)
    )
    for unit_id, hashed in session.execute(ownership_query):
        owners[unit_id].add(hashed)
    # Columns, not UnitRecord entities: 100,000 ORM objects in the identity map cost seconds.
    record_query = (
        select(
            Unit.code,
            UnitRecord.unit_id,
            UnitRecord.developer,
            UnitRecord.area_registry,
            UnitRecord.area_survey,
            UnitRecord.area_contract,
            UnitRecord.basis,
            UnitRecord.evidence_ref,
            UnitRecord.reseller,
            UnitRecord.kind,
        )
        .join(Unit, Unit.id == UnitRecord.unit_id)
        .where(UnitRecord.version_id == version_id)
    )
    return {
        code: UnitFacts(developer, registry, survey, contract, frozenset(owners.get(unit_id, ())), basis, evidence,
                        reseller, kind)
        for code, unit_id, developer, registry, survey, contract, basis, evidence, reseller, kind
        in session.execute(record_query)
    }


def diff_versions(before: dict[str, UnitFacts], after: dict[str, UnitFacts]) -> RegisterDiff:
    diff = RegisterDiff()
    diff.added = sorted(set(after) - set(before))
    diff.removed = sorted(set(before) - set(after))
    diff.added_facts = {code: after[code] for code in diff.added}
    diff.removed_facts = {code: before[code] for code in diff.removed}
    for code in sorted(set(before) & set(after)):
        if before[code] != after[code]:
            diff.changed[code] = {"before": before[code].describe(), "after": after[code].describe()}
            if before[code].owners != after[code].owners:
                diff.changed[code]["owners_changed"] = True
    return diff


ANCILLARY = frozenset({"parking", "storage"})  # 车位、储藏室 with their own registration


def roll_units(facts: dict[str, UnitFacts], *, count_ancillary: bool | None = True) -> list[rules.RollUnit]:
    """The units that vote: parking spaces and storage rooms only where the estate's setting counts
    them (None, not decided: they do not count; opening a vote waits for the decision)."""
    return [
        rules.RollUnit(
            id=code,
            owners=unit.owners,
            developer=unit.developer or unit.reseller,
            area=rules.unit_area(rules.UnitAreas(unit.registry, unit.survey, unit.contract))[0],
        )
        for code, unit in facts.items()
        if count_ancillary or unit.kind not in ANCILLARY
    ]
