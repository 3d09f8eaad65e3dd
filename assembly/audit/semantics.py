"""What the verifier checks in the meaning of the entries 语义核验: rolls, ballots, openings,
tally files, results and objections, entry by entry as the export streams past.

Memory grows with the ballots of motions still being counted (their commitments wait for the
opening entry) and with one tally file per motion between close and final result; the Merkle
part of the verifier stays O(log n). Field names are those documented in entries.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypedDict, cast

from assembly.audit.entries import ballot_commitment, parse_time
from assembly.audit.proxy_check import Authorisations
from assembly.audit.report import Findings, Words
from assembly.law.ballots import superseded_by_transfer
from assembly.law.tally import tally

Recount = Callable[[dict], dict]
SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")  # motion ids become file names


def default_recount(document: dict) -> dict:
    """The platform's own tally (tally-format.md), imported only when a result is checked."""
    return tally(document)


# The shapes of the nested values `feed` reads: verify.py feeds only entries whose fields passed
# entries.entry_problems (entries.FIELDS), so the casts below state what that check established.
class _Share(TypedDict):
    area: str
    heads: int


class _RollMember(TypedDict):
    member: str
    units: list[str]
    area: str
    heads: int


class _Opening(TypedDict):
    entry: int
    member: str
    salt: str
    ballot: dict


def _openings(entry: Mapping[str, object]) -> list[_Opening]:
    return cast(list[_Opening], entry["openings"])  # a local `cast` (a ballot's) shadows it in _ballots_opened


@dataclass
class _Roll:
    meeting: str
    revote: str
    opens: datetime
    closes: datetime
    units_of: dict[str, frozenset[str]]
    totals: Mapping[str, object]
    transfers: dict[str, list[datetime]] = field(default_factory=dict)  # member -> roll.transferred times


@dataclass
class _Cast:
    member: str
    by: str
    commitment: str
    time: datetime


@dataclass
class _Motion:
    roll: _Roll
    casts: dict[int, _Cast] = field(default_factory=dict)
    ballots: dict[int, dict] | None = None  # entry -> opened ballot, once opened
    order: list[int] = field(default_factory=list)  # entries in tally-file order
    document: dict | None = None
    recount: dict | None = None
    announced: bool = False
    final: bool = False
    objections: dict[int, str] = field(default_factory=dict)  # index -> filed/upheld/dismissed
    voided: set[int] = field(default_factory=set)


def _area(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an area") from None


def _same_share(logged: object, counted: object) -> bool:
    if not isinstance(logged, Mapping) or not isinstance(counted, Mapping):
        return False
    try:
        return _area(logged["area"]) == _area(counted["area"]) and logged["heads"] == counted["heads"]
    except (KeyError, ValueError):
        return False


def result_differences(entry: Mapping[str, object], recount: Mapping[str, object]) -> list[str]:
    """Which published figures differ from the recount (areas compared as exact decimals)."""
    differ = []
    if not _same_share(entry.get("totals"), recount.get("total")):
        differ.append("totals")
    for name in ("participating", *(("agree",) if "passed" in entry else ())):
        if not _same_share(entry.get(name), recount.get(name)):
            differ.append(name)
    for name in ("quorum", "passed"):
        if name in entry and entry[name] != recount.get(name):
            differ.append(name)
    if "elected" in entry:
        candidates = cast(list[dict], recount.get("candidates", []))  # the tally's output (tally-format.md)
        elected = [c.get("id") for c in candidates if c.get("elected")]
        if sorted(map(str, cast(list[str], entry["elected"]))) != sorted(map(str, elected)):
            differ.append("elected")
    return differ


class Ledger:
    """Follows the estate's history entry by entry and records what does not add up."""

    def __init__(self, findings: Findings, tally_dir: Path, recount: Recount | None = None) -> None:
        self.findings = findings
        self.tally_dir = tally_dir
        self.recount = recount or default_recount
        self.register_version = 0
        self.rolls: dict[str, _Roll] = {}
        self.motions: dict[str, _Motion] = {}
        self.paper_phases: set[str] = set()  # meetings whose voting.closed opened a paper-entry phase
        self.seen = {"ballots": 0, "opened": 0, "closed": 0, "results": 0, "objections": 0}
        self.proxies = Authorisations()

    def fail(self, check: str, index: int, en: str, zh: str) -> None:
        self.findings.fail(check, index, Words(f"entry {index}: {en}", f"第 {index} 条：{zh}"))

    def feed(self, index: int, entry: Mapping[str, object]) -> None:
        kind = str(entry["type"])
        handler = {
            "register.version": self._register_version,
            "roll.frozen": self._roll_frozen,
            "roll.transferred": self._roll_transferred,
            "voting.closed": self._voting_closed,
            "ballot.cast": self._ballot_cast,
            "ballots.opened": self._ballots_opened,
            "motion.closed": self._motion_closed,
            "result.announced": self._result_announced,
            "result.final": self._result_final,
        }.get(kind)
        if kind in ("objection.filed", "objection.upheld", "objection.dismissed"):
            handler = self._objection
        if kind in ("proxy.confirmed", "proxy.withdrawn"):
            self.proxies.feed(entry)
        if handler is not None:
            handler(index, entry)

    def _motion(self, index: int, entry: Mapping[str, object], check: str) -> _Motion | None:
        motion = self.motions.get(str(entry["motion"]))
        if motion is None:
            self.fail(check, index, f"motion {entry['motion']} is on no frozen roll", f"议题 {entry['motion']} 不在任何冻结名册中")
        return motion

    # --- register and roll ---------------------------------------------------------------

    def _register_version(self, index: int, entry: Mapping[str, object]) -> None:
        version = entry["version"]
        if version != self.register_version + 1:
            self.fail("register.versions", index, f"register version {version} follows {self.register_version}",
                      f"名册版本 {version} 接在 {self.register_version} 之后，不连续")
        self.register_version = max(self.register_version, cast(int, version))

    def _roll_frozen(self, index: int, entry: Mapping[str, object]) -> None:
        meeting = str(entry["meeting"])
        if meeting in self.rolls:
            self.fail("roll", index, f"meeting {meeting} has a second frozen roll", f"会议 {meeting} 的名册被冻结了两次")
        if not 1 <= cast(int, entry["register_version"]) <= self.register_version:
            self.fail("roll", index, f"roll uses register version {entry['register_version']}, not logged before",
                      f"名册引用的版本 {entry['register_version']} 此前未登记")
        units_of: dict[str, frozenset[str]] = {}
        seen_units: set[str] = set()
        area, heads = Decimal(0), 0
        for member in cast(list[_RollMember], entry["members"]):
            units = frozenset(member["units"])
            if member["member"] in units_of or units & seen_units or len(units) != len(member["units"]):
                self.fail("roll", index, f"member {member['member']} or one of its units is listed twice",
                          f"成员 {member['member']} 或其房屋重复出现")
            units_of[member["member"]] = units
            seen_units |= units
            area += _area(member["area"])
            heads += member["heads"]
        totals = cast(_Share, entry["totals"])
        if area != _area(totals["area"]) or heads != totals["heads"]:
            self.fail("roll", index, f"members add up to {area} m² and {heads} heads, not the stated totals",
                      f"成员合计 {area} 平方米、{heads} 人，与所列总数不符")
        opens, closes = parse_time(entry["opens_at"]), parse_time(entry["closes_at"])
        if not opens < closes:
            self.fail("roll", index, "the voting window closes before it opens", "投票结束时间早于开始时间")
        roll = _Roll(meeting, str(entry["revote"]), opens, closes, units_of, totals)
        self.rolls[meeting] = roll
        for motion in cast(list[str], entry["motions"]):
            if motion in self.motions:
                self.fail("roll", index, f"motion {motion} is on two rolls", f"议题 {motion} 出现在两份名册中")
            self.motions[str(motion)] = _Motion(roll)

    def _roll_transferred(self, index: int, entry: Mapping[str, object]) -> None:
        """A sale registered during voting: the member's later ballots replace the earlier holders'."""
        roll = self.rolls.get(str(entry["meeting"]))
        member = str(entry["member"])
        if roll is None or member not in roll.units_of:
            self.fail("roll", index, f"transfer of {member}, who is on no frozen roll of meeting {entry['meeting']}",
                      f"转让移转的成员 {member} 不在会议 {entry['meeting']} 的冻结名册中")
            return
        if frozenset(cast(list[str], entry["units"])) != roll.units_of[member]:
            self.fail("roll", index, f"transfer of {member} names other units than the frozen roll",
                      f"成员 {member} 的转让移转所列房屋与冻结名册不符")
        if not 1 <= cast(int, entry["register_version"]) <= self.register_version:
            self.fail("roll", index, f"transfer cites register version {entry['register_version']}, not logged before",
                      f"转让移转引用的名册版本 {entry['register_version']} 此前未登记")
        when = parse_time(entry["at"])
        if not roll.opens <= when < roll.closes:
            self.fail("roll", index, "a transfer outside the voting window", "转让移转不在投票期间内")
        roll.transfers.setdefault(member, []).append(when)

    # --- ballots -------------------------------------------------------------------------

    def _ballot_cast(self, index: int, entry: Mapping[str, object]) -> None:
        self.seen["ballots"] += 1
        motion = self._motion(index, entry, "ballots.roll")
        if motion is None:
            return
        member = str(entry["member"])
        if member not in motion.roll.units_of:
            self.fail("ballots.roll", index, f"ballot by {member}, who is not on the frozen roll",
                      f"投票人 {member} 不在冻结名册中")
        when = parse_time(entry["time"])
        if when > parse_time(entry["at"]):
            self.fail("ballots.window", index,
                      f"ballot logged at {entry['at']}, before it was cast at {entry['time']}",
                      f"选票记录时间 {entry['at']} 早于投票时间 {entry['time']}")
        if not motion.roll.opens <= when <= motion.roll.closes:
            self.fail("ballots.window", index, f"ballot cast at {entry['time']}, outside the voting window",
                      f"投票时间 {entry['time']} 不在投票期间内")
        if entry["by"] == "proxy" and not self.proxies.allows(meeting=motion.roll.meeting, member=member,
                                                              actor=cast(Mapping[str, object], entry["actor"])):
            self.fail("ballots.roll", index, f"proxy ballot for {member} without a confirmed authorisation in force",
                      f"{member} 的代理投票没有经确认且有效的授权委托")
        logged = parse_time(entry["at"])
        if entry["by"] == "paper":  # entered after close, within the paper phase the roll's meeting opened
            if motion.roll.meeting not in self.paper_phases or logged < motion.roll.closes:
                self.fail("ballots.window", index, "paper ballot entered outside a paper-entry phase after close",
                          "纸质选票不是在投票截止后的纸质选票录入期内录入的")
        elif logged > motion.roll.closes:
            self.fail("ballots.window", index, f"{entry['by']} ballot logged at {entry['at']}, after voting closed",
                      f"{entry['by']} 选票在投票截止后（{entry['at']}）才记入")
        if motion.ballots is not None:
            self.fail("ballots.window", index, "ballot logged after the motion's ballots were opened",
                      "选票在该议题开票之后才记入")
            return
        motion.casts[index] = _Cast(member, str(entry["by"]), str(entry["commitment"]), when)

    def _voting_closed(self, index: int, entry: Mapping[str, object]) -> None:
        """Electronic voting closed and a paper phase began: paper ballots may follow until the count."""
        meeting = str(entry["meeting"])
        roll = self.rolls.get(meeting)
        if roll is None:
            self.fail("ballots.window", index, f"meeting {meeting} closed without a frozen roll",
                      f"会议 {meeting} 没有冻结名册就截止了")
            return
        if parse_time(entry["at"]) < roll.closes or parse_time(entry["closes_at"]) != roll.closes:
            self.fail("ballots.window", index, f"meeting {meeting} closed before its voting window ended",
                      f"会议 {meeting} 在投票期间结束前就截止了")
        self.paper_phases.add(meeting)

    def _ballots_opened(self, index: int, entry: Mapping[str, object]) -> None:
        motion = self._motion(index, entry, "ballots.openings")
        if motion is None:
            return
        if motion.ballots is not None:
            self.fail("ballots.openings", index, "the motion's ballots are opened a second time", "该议题的选票被第二次公开")
            return
        opened: dict[int, dict] = {}
        for opening in _openings(entry):
            cast = motion.casts.get(opening["entry"])
            at = opening["entry"]
            if cast is None or at in opened:
                self.fail("ballots.openings", index, f"opens entry {at}, which is no unopened ballot of this motion",
                          f"公开的第 {at} 条不是本议题尚未公开的选票")
                continue
            ballot = opening["ballot"]
            if ballot_commitment(bytes.fromhex(opening["salt"]), ballot) != cast.commitment:
                self.fail("ballots.openings", index, f"opened ballot of entry {at} does not match its commitment",
                          f"第 {at} 条选票公开内容与其承诺不符")
            elif opening["member"] != cast.member or ballot["by"] != cast.by:
                self.fail("ballots.openings", index, f"opening of entry {at} names another member or way of voting",
                          f"第 {at} 条选票公开时的成员或投票方式不同")
            if ballot["unit"] not in motion.roll.units_of.get(cast.member, ()):
                self.fail("ballots.roll", index,
                          f"ballot of entry {at} is for unit {ballot['unit']}, not held by {cast.member}",
                          f"第 {at} 条选票所投房屋 {ballot['unit']} 不属于 {cast.member}")
            opened[at] = ballot
        missing = sorted(set(motion.casts) - set(opened))
        if missing:
            self.fail("ballots.openings", index,
                      f"{len(missing)} ballots never opened, the first is entry {missing[0]}",
                      f"有 {len(missing)} 张选票未公开，第一张为第 {missing[0]} 条")
        motion.ballots = opened
        order = sorted(opened, key=lambda at: (motion.casts[at].time, at))
        # a seller's ballot a buyer's replaced is opened but not in the tally file (roll.transferred)
        aside = superseded_by_transfer([(motion.casts[at].member, motion.casts[at].time) for at in order],
                                       motion.roll.transfers) if motion.roll.transfers else set()
        motion.order = [at for position, at in enumerate(order) if position not in aside]
        self.seen["opened"] += len(opened)

    # --- close, tally and results --------------------------------------------------------

    def _motion_closed(self, index: int, entry: Mapping[str, object]) -> None:
        motion = self._motion(index, entry, "tally.files")
        if motion is None:
            return
        name = str(entry["motion"])
        if motion.ballots is None or motion.document is not None:
            self.fail("tally.files", index, f"motion {name} closed before its ballots were opened, or twice",
                      f"议题 {name} 在开票前关闭，或被关闭两次")
            return
        if not SAFE_ID.match(name):
            self.fail("tally.files", index, f"motion id {name!r} cannot name a tally file", f"议题编号 {name!r} 不能作为文件名")
            return
        path = self.tally_dir / f"{name}.json"
        try:
            data = path.read_bytes()
        except OSError:
            self.fail("tally.files", index, f"tally/{name}.json is missing", f"缺少计票文件 tally/{name}.json")
            return
        if hashlib.sha256(data).hexdigest() != entry["tally_sha256"]:
            self.fail("tally.files", index, f"tally/{name}.json is not the file the log fixed at close",
                      f"tally/{name}.json 与关闭时日志记录的文件不符")
            return
        try:
            document = json.loads(data)
        except ValueError:
            self.fail("tally.files", index, f"tally/{name}.json is not JSON", f"tally/{name}.json 不是 JSON")
            return
        self.seen["closed"] += 1
        self._check_tally_file(index, name, motion, document)
        motion.document = document
        motion.recount = self._recount(index, document)
        if motion.recount is not None and not _same_share(motion.roll.totals, motion.recount.get("total")):
            self.fail("tally.files", index, f"tally/{name}.json counts other totals than the frozen roll",
                      f"tally/{name}.json 的总面积或总人数与冻结名册不符")

    def _check_tally_file(self, index: int, name: str, motion: _Motion, document: object) -> None:
        if not isinstance(document, dict):
            self.fail("tally.files", index, f"tally/{name}.json is not a tally document", f"tally/{name}.json 不是计票文件")
            return
        if document.get("revote", "last") != motion.roll.revote:
            self.fail("tally.files", index, f"tally/{name}.json uses another revote rule than the meeting",
                      f"tally/{name}.json 的重投规则与会议不同")
        units = {unit.get("id") for unit in document.get("units", []) if isinstance(unit, dict)}
        if units != set().union(*motion.roll.units_of.values()):
            self.fail("tally.files", index, f"tally/{name}.json lists other units than the frozen roll",
                      f"tally/{name}.json 的房屋与冻结名册不符")
        assert motion.ballots is not None
        if document.get("ballots") != [motion.ballots[at] for at in motion.order]:
            self.fail("tally.files", index, f"tally/{name}.json holds other ballots than those opened in the log",
                      f"tally/{name}.json 的选票与日志中公开的选票不符")

    def _recount(self, index: int, document: dict) -> dict | None:
        try:
            return self.recount(document)
        except Exception as exc:  # the recount is someone else's code reading an untrusted file
            self.fail("results.recount", index, f"the recount failed: {exc}", f"重新计票失败：{exc}")
            return None

    def _result_announced(self, index: int, entry: Mapping[str, object]) -> None:
        motion = self._motion(index, entry, "results.recount")
        if motion is None:
            return
        if motion.recount is None or motion.announced:
            self.fail("results.recount", index, "result announced before the count, or twice", "结果在计票前公布，或被公布两次")
            return
        motion.announced = True
        self._compare(index, entry, motion.recount)

    def _result_final(self, index: int, entry: Mapping[str, object]) -> None:
        motion = self._motion(index, entry, "results.recount")
        if motion is None:
            return
        if not motion.announced or motion.final or motion.document is None:
            self.fail("results.recount", index, "result.final (objection period ended) without an announced one, or twice",
                      "异议期结束的结果（result.final）没有先行公布，或重复")
            return
        motion.final = True
        undecided = [at for at, state in motion.objections.items() if state == "filed"]
        if undecided:
            self.fail("objections", index, f"result made final while objection {undecided[0]} is undecided",
                      f"异议第 {undecided[0]} 条尚未处理，结果即被确定")
        if sorted(cast(list[int], entry["voided"])) != sorted(motion.voided):
            self.fail("objections", index, "the voided ballots differ from those of the upheld objections",
                      "作废的选票与成立的异议不一致")
        recount = motion.recount
        if motion.voided:
            kept = [motion.ballots[at] for at in motion.order if at not in motion.voided]  # type: ignore[index]
            recount = self._recount(index, {**motion.document, "ballots": kept})
        if recount is not None:
            self._compare(index, entry, recount)

    def _compare(self, index: int, entry: Mapping[str, object], recount: Mapping[str, object]) -> None:
        self.seen["results"] += 1
        differ = result_differences(entry, recount)
        if differ:
            names = ", ".join(differ)
            self.fail("results.recount", index, f"published {names} differ from the recount", f"公布的 {names} 与重新计票结果不符")

    def _objection(self, index: int, entry: Mapping[str, object]) -> None:
        motion = self._motion(index, entry, "objections")
        if motion is None:
            return
        self.seen["objections"] += 1
        kind = cast(str, entry["type"])
        if not motion.announced or motion.final:
            self.fail("objections", index, f"{kind} outside the objection period", f"{kind} 不在异议期内")
            return
        if kind == "objection.filed":
            if entry["ballot"] is not None and entry["ballot"] not in motion.casts:
                self.fail("objections", index, "objection names no ballot of this motion", "异议所指的选票不属于本议题")
            motion.objections[index] = "filed"
            return
        target = cast(int, entry.get("objection"))
        if motion.objections.get(target) != "filed":
            self.fail("objections", index, f"{kind} decides no pending objection", f"{kind} 没有对应待处理的异议")
            return
        motion.objections[target] = kind.split(".")[1]
        if kind == "objection.upheld" and entry.get("voids") is not None:
            if entry["voids"] not in motion.casts:
                self.fail("objections", index, "upheld objection voids no ballot of this motion", "成立的异议所作废的选票不属于本议题")
            else:
                motion.voided.add(int(entry["voids"]))

    # --- summary -------------------------------------------------------------------------

    def finish(self) -> None:
        seen = self.seen
        sealed = sum(len(m.casts) for m in self.motions.values() if m.ballots is None)
        ok = self.findings.ok
        ok("register.versions", Words(f"register versions: {self.register_version}, numbered without gaps",
                                      f"名册版本 {self.register_version} 个，编号连续"))
        ok("roll", Words(f"frozen rolls: {len(self.rolls)}, each adding up", f"{len(self.rolls)} 份冻结名册合计正确"))
        ok("ballots.roll", Words(f"ballots: {seen['ballots']}, all from members of the frozen roll "
                                 "(a proxy's under a confirmed authorisation)",
                                 f"全部 {seen['ballots']} 张选票来自冻结名册中的成员（代理投票均有经确认的授权委托）"))
        ok("ballots.window", Words("every ballot inside its voting window", "每张选票均在投票期间内"))
        ok("ballots.openings", Words(f"opened and matching their commitments: {seen['opened']} ballots; "
                                     f"still sealed because voting is not closed: {sealed}",
                                     f"{seen['opened']} 张选票已公开且与承诺相符；{sealed} 张因投票未结束仍密封"))
        ok("tally.files", Words(f"tally files matching the log: {seen['closed']}", f"{seen['closed']} 个计票文件与日志一致"))
        ok("results.recount", Words(f"published results equal to the recount: {seen['results']}",
                                    f"{seen['results']} 项公布结果与重新计票一致"))
        ok("objections", Words(f"objection entries, all in order: {seen['objections']}",
                               f"{seen['objections']} 条异议记录有序"))
