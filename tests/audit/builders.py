"""Builders for audit tests: a small estate's history as log entries, and its export.

`mini_tally` is a stand-in recount for motions only (tally-format.md's arithmetic, without
proxies' rank and elections) so the verifier's tests do not depend on the voting package; one
test runs the real `assembly.law.tally` over the same history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from assembly.audit.checkpoint import Checkpoint, sign_checkpoint
from assembly.audit.entries import ballot_commitment, make_entry
from assembly.audit.export import write_export
from assembly.audit.merkle import MemoryHashStore
from assembly.audit.note import Ed25519Signer

ORIGIN = "assembly.example/estate/7"
SYSTEM = {"id": "system", "role": "system"}
CHAIR = {"id": "p-chair", "role": "chair"}


def mini_tally(document: dict) -> dict:
    """Recount a motion: members by owner set, first area present, revote last/first."""
    areas, member_of = {}, {}
    for unit in document["units"]:
        area = next(Decimal(unit["area"][k]) for k in ("registry", "survey", "contract") if k in unit["area"])
        key = "developer" if unit.get("developer") else "+".join(sorted(unit["owners"]))
        member_of[unit["id"]] = key
        areas[key] = areas.get(key, Decimal(0)) + area
    counted: dict[str, str] = {}
    for ballot in document["ballots"]:
        member = member_of[ballot["unit"]]
        if member not in counted or document.get("revote", "last") == "last":
            counted[member] = ballot["choice"]

    def share(members: list[str]) -> dict:
        return {"area": str(sum((areas[m] for m in members), Decimal(0))), "heads": len(members)}

    total, part = share(list(areas)), share(list(counted))
    agree = share([m for m, c in counted.items() if c == "agree"])
    quorum = Fraction(part["area"]) >= Fraction(2, 3) * Fraction(total["area"]) and 3 * part["heads"] >= 2 * total["heads"]
    need = Fraction(3, 4) if document["item"] in (6, 7, 8) else Fraction(1, 2)
    a_area, p_area = Fraction(agree["area"]), Fraction(part["area"])
    if need == Fraction(1, 2):
        passed = quorum and a_area > need * p_area and agree["heads"] > need * part["heads"]
    else:
        passed = quorum and a_area >= need * p_area and agree["heads"] >= need * part["heads"]
    return {"total": total, "participating": part, "quorum": quorum, "agree": agree,
            "oppose": share([m for m, c in counted.items() if c == "oppose"]),
            "abstain": share([m for m, c in counted.items() if c == "abstain"]), "passed": passed, "rejected": []}


@dataclass
class Estate:
    """An estate's log being written: entries, hash store, tally files."""

    signer: Ed25519Signer
    entries: list[bytes] = field(default_factory=list)
    store: MemoryHashStore = field(default_factory=MemoryHashStore)
    tally_files: dict[str, bytes] = field(default_factory=dict)
    minute: int = 0

    def at(self) -> str:
        self.minute += 1
        return f"2025-03-16T{8 + self.minute // 60:02d}:{self.minute % 60:02d}:00Z"

    def log(self, kind: str, actor: dict = SYSTEM, at: str | None = None, **fields: object) -> int:
        index = len(self.entries)
        entry = make_entry(kind, at or self.at(), actor, index=index, **fields)
        self.entries.append(entry)
        self.store.append(entry)
        return index

    def checkpoint(self, size: int | None = None, signer: Ed25519Signer | None = None) -> str:
        size = len(self.entries) if size is None else size
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.store.tree_hash(size)), signer or self.signer)

    def export(self, out: Path, keys: list[str] | None = None, note: str | None = None) -> Path:
        write_export(out, entries=self.entries, checkpoint_note=note or self.checkpoint(),
                     keys=keys or [self.signer.verifier.vkey], tally_files=self.tally_files)
        return out


UNITS = [
    {"id": "1-101", "owners": ["p1"], "area": {"registry": "90.50"}},
    {"id": "1-102", "owners": ["p1"], "area": {"registry": "60.00"}},
    {"id": "1-201", "owners": ["p2", "p3"], "area": {"contract": "120.25"}},
    {"id": "1-202", "owners": ["p4"], "area": {"survey": "88.00"}},
    {"id": "1-301", "developer": True, "area": {"registry": "75.00"}},
]
MEMBERS = [
    {"member": "m-p1", "units": ["1-101", "1-102"], "area": "150.50", "heads": 1},
    {"member": "m-p2p3", "units": ["1-201"], "area": "120.25", "heads": 1},
    {"member": "m-p4", "units": ["1-202"], "area": "88.00", "heads": 1},
    {"member": "m-dev", "units": ["1-301"], "area": "75.00", "heads": 1},
]
TOTALS = {"area": "433.75", "heads": 4}


def salt_for(n: int) -> bytes:
    return hashlib.sha256(b"salt %d" % n).digest()


def result_fields(recount: dict) -> dict:
    return {"totals": recount["total"], "participating": recount["participating"], "agree": recount["agree"],
            "quorum": recount["quorum"], "passed": recount["passed"]}


def build_history(estate: Estate, *, votes=None, objection_voids: bool = False, extra_open_motion: bool = True,
                  drop_opening: int | None = None, override: dict | None = None) -> dict:
    """Register, roll, four ballots (one revote), opening, close, result, an objection, final.
    `drop_opening` leaves one ballot unopened; `override` replaces published result fields
    ({"announced": {...}, "final": {...}}). Returns the indexes of interesting entries by name."""
    override = override or {}
    votes = votes or [("m-p1", "1-101", "oppose"), ("m-p2p3", "1-201", "agree"), ("m-p4", "1-202", "agree"),
                      ("m-p1", "1-102", "agree")]
    marks: dict = {}
    marks["register"] = estate.log("register.version", CHAIR, version=1, register_sha256="ab" * 32, units=5)
    motions = ["mo-1", "mo-2"] if extra_open_motion else ["mo-1"]
    marks["roll"] = estate.log("roll.frozen", SYSTEM, meeting="mt-1", motions=motions, register_version=1,
                               revote="last", opens_at="2025-03-16T00:00:00Z", closes_at="2025-03-20T00:00:00Z",
                               members=MEMBERS, totals=TOTALS)
    openings, ballots = [], []
    for number, (member, unit, choice) in enumerate(votes):
        ballot = {"by": "owner", "choice": choice, "unit": unit}
        at = estate.at()
        index = estate.log("ballot.cast", {"id": member, "role": "owner"}, at=at, motion="mo-1", member=member,
                           by="owner", commitment=ballot_commitment(salt_for(number), ballot), time=at)
        marks.setdefault("ballots", []).append(index)
        openings.append({"entry": index, "member": member, "salt": salt_for(number).hex(), "ballot": ballot})
        ballots.append(ballot)
    if extra_open_motion:
        sealed = {"by": "owner", "choice": "agree", "unit": "1-202"}
        at = estate.at()
        marks["sealed"] = estate.log("ballot.cast", {"id": "m-p4", "role": "owner"}, at=at, motion="mo-2",
                                     member="m-p4", by="owner", commitment=ballot_commitment(salt_for(99), sealed), time=at)
    if drop_opening is not None:
        openings.pop(drop_opening)
        ballots.pop(drop_opening)
    marks["opened"] = estate.log("ballots.opened", SYSTEM, motion="mo-1", openings=openings)
    document = {"format": "assembly-tally/1", "item": 4, "kind": "motion", "revote": "last", "units": UNITS,
                "ballots": ballots}
    data = json.dumps(document, ensure_ascii=False, indent=1).encode()
    estate.tally_files["mo-1"] = data
    marks["closed"] = estate.log("motion.closed", SYSTEM, motion="mo-1", tally_sha256=hashlib.sha256(data).hexdigest())
    recount = mini_tally(document)
    marks["announced"] = estate.log("result.announced", CHAIR, motion="mo-1",
                                    **{**result_fields(recount), **override.get("announced", {})})
    marks["objection"] = estate.log("objection.filed", {"id": "m-p4", "role": "owner"}, motion="mo-1", member="m-p4",
                                    ballot=marks["ballots"][2], ground="not-my-vote")
    kept = [b for i, b in enumerate(ballots) if i != 2] if drop_opening is None else ballots
    voided = []
    if objection_voids:
        voided = [marks["ballots"][2]]
        estate.log("objection.upheld", CHAIR, motion="mo-1", objection=marks["objection"], voids=voided[0])
        recount = mini_tally({**document, "ballots": kept})
    else:
        estate.log("objection.dismissed", CHAIR, motion="mo-1", objection=marks["objection"])
    marks["final"] = estate.log("result.final", CHAIR, motion="mo-1", voided=voided,
                                **{**result_fields(recount), **override.get("final", {})})
    return marks
