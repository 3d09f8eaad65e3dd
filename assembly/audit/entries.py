"""Audit-log entries 审计日志条目: the fields of every entry type the verifier relies on.

Entry i is the RFC 8785 (JCS) bytes of one JSON object. Every entry has:

============  =====================================================================
field         meaning
============  =====================================================================
``index``     its position in the estate's log, 0-based (entry i says ``"index": i``)
``type``      one of the types below, or any other documented in docs/observers.md
``at``        when it was logged: RFC 3339 UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``
``actor``     ``{"id": <pseudonym>, "role": <role>}``; never a name, phone or id number
============  =====================================================================

Why ``index``: the tree already fixes each entry's position, but with the position inside the
entry a reader of a single line knows where it belongs, and a verifier can name the first
deleted, inserted or swapped entry instead of only "the root differs". The sequencer (one per
estate, appends serialised) knows the index before it writes the entry.

Types the offline verifier checks (areas are decimal strings, never numbers):

=====================  ==============================================================
type                   fields
=====================  ==============================================================
register.version       ``version`` (1, 2, 3, … without gaps), ``register_sha256`` (hex
                       SHA-256 of the version's register snapshot, kept off-log),
                       ``units`` (how many units it lists)
roll.frozen            ``meeting``, ``motions`` [ids], ``register_version``, ``revote``
                       (``last``/``first``), ``opens_at``, ``closes_at`` (the voting
                       window), ``members`` [{``member`` pseudonym, ``units`` [unit ids],
                       ``area``, ``heads``}], ``totals`` {``area``, ``heads``}
ballot.cast            ``motion``, ``member`` (the voting member's pseudonym), ``by``
                       (``owner``/``paper``/``proxy``; a proxy is the ``actor``),
                       ``commitment`` (hex SHA-256(salt || JCS(ballot))), ``time`` (when
                       cast, or when a paper ballot was handed in)
ballots.opened         ``motion``, ``openings`` [{``entry`` (index of the ballot.cast),
                       ``member``, ``salt`` (64 hex), ``ballot``}], one per ballot.cast of
                       the motion, logged after the last of them and before motion.closed
motion.closed          ``motion``, ``tally_sha256`` (hex SHA-256 of the bytes of the
                       export's ``tally/<motion>.json``)
result.announced       ``motion``, ``totals``, ``participating``, ``quorum``, and for a
                       motion ``agree`` and ``passed``, for an election ``elected`` [ids];
                       ``totals``, ``participating``, ``agree`` are {``area``, ``heads``}
result.final           as result.announced, plus ``voided`` [indexes of ballot.cast
                       entries voided by upheld objections]
objection.filed        ``motion``, ``member``, ``ballot`` (index of the ballot.cast
                       objected to, or null), ``ground`` (a code such as ``not-my-vote``)
objection.upheld       ``motion``, ``objection`` (index of the objection.filed),
                       ``voids`` (index of the ballot.cast it voids, or null)
objection.dismissed    ``motion``, ``objection``
=====================  ==============================================================

Opening the commitments (decision): a ``ballots.opened`` entry per motion, not salts inside
the tally file, because tally-format.md refuses unknown fields and a tally file must stay
recountable by ``assembly tally``. The ballot committed to is exactly the tally file's ballot
object ({``unit``, ``choice`` or ``choices``, ``by``}); the tally file lists the opened ballots
in order of ``time``, then entry index (order of arrival, paper ballots by hand-in time).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from assembly.audit.jcs import canonical

TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
HEX256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
AREA_PATTERN = re.compile(r"^(0|[1-9]\d*)(\.\d{1,4})?$")
BY = ("owner", "paper", "proxy")
REVOTES = ("last", "first")


class EntryError(ValueError):
    """An entry missing a field the verifier relies on, or holding one of the wrong shape."""


def parse_time(text: object) -> datetime:
    """An RFC 3339 UTC time as written in entries; EntryError otherwise."""
    if not isinstance(text, str) or not TIME_PATTERN.match(text):
        raise EntryError(f"time {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise EntryError(f"time {text!r} is not a real date and time") from None


def format_time(moment: datetime) -> str:
    """The entry form of an aware datetime: UTC, 'Z', microseconds only when present."""
    if moment.tzinfo is None:
        raise EntryError("entry times must be timezone-aware")
    moment = moment.astimezone(UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(pattern)


def ballot_commitment(salt: bytes, ballot: Mapping[str, object]) -> str:
    """Hex SHA-256(salt || JCS(ballot)): binds the choice without showing it while voting is open."""
    if len(salt) != 32:
        raise EntryError("a ballot salt is 32 random bytes")
    return hashlib.sha256(salt + canonical(ballot)).hexdigest()


# --- field shapes ----------------------------------------------------------------------------

Shape = Callable[[object], str | None]  # a problem in plain words, or None


def _text(value: object) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _count(value: object) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "must be a whole number >= 0"


def _optional_count(value: object) -> str | None:
    return None if value is None else _count(value)


def _flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _time(value: object) -> str | None:
    try:
        parse_time(value)
    except EntryError as exc:
        return str(exc)
    return None


def _hex256(value: object) -> str | None:
    ok = isinstance(value, str) and HEX256_PATTERN.match(value)
    return None if ok else "must be 64 lowercase hex digits"


def _area(value: object) -> str | None:
    ok = isinstance(value, str) and AREA_PATTERN.match(value)
    return None if ok else "must be a decimal string with at most 4 places"


def _one_of(*allowed: str) -> Shape:
    def shape(value: object) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return shape


def _list_of(item: Shape, *, non_empty: bool = False) -> Shape:
    def shape(value: object) -> str | None:
        if not isinstance(value, list) or (non_empty and not value):
            return "must be a list" + (" with at least one item" if non_empty else "")
        for position, element in enumerate(value):
            problem = item(element)
            if problem:
                return f"item {position} {problem}"
        return None

    return shape


def _object(fields: Mapping[str, Shape]) -> Shape:
    def shape(value: object) -> str | None:
        if not isinstance(value, dict):
            return "must be an object"
        for name, field_shape in fields.items():
            if name not in value:
                return f"lacks {name!r}"
            problem = field_shape(value[name])
            if problem:
                return f"{name!r} {problem}"
        return None

    return shape


def _ballot(value: object) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("unit"), str):
        return "must be a ballot object with a 'unit'"
    if value.get("by") not in BY:
        return "must say 'by': owner, paper or proxy"
    if ("choice" in value) == ("choices" in value):
        return "must hold exactly one of 'choice' (motion) or 'choices' (election)"
    return None


_SHARE = _object({"area": _area, "heads": _count})
_ACTOR = _object({"id": _text, "role": _text})

COMMON: dict[str, Shape] = {"index": _count, "type": _text, "at": _time, "actor": _ACTOR}

_RESULT = {"motion": _text, "totals": _SHARE, "participating": _SHARE, "quorum": _flag}

FIELDS: dict[str, dict[str, Shape]] = {
    "register.version": {"version": _count, "register_sha256": _hex256, "units": _count},
    "roll.frozen": {
        "meeting": _text,
        "motions": _list_of(_text, non_empty=True),
        "register_version": _count,
        "revote": _one_of(*REVOTES),
        "opens_at": _time,
        "closes_at": _time,
        "members": _list_of(
            _object({"member": _text, "units": _list_of(_text, non_empty=True), "area": _area, "heads": _count})
        ),
        "totals": _SHARE,
    },
    # a sale registered during voting moves a member's vote to the buyers (assembly/voting/transfers.py)
    "roll.transferred": {"meeting": _text, "member": _text, "units": _list_of(_text, non_empty=True),
                         "register_version": _count, "before": _list_of(_text, non_empty=True),
                         "after": _list_of(_text, non_empty=True)},
    # whether parking spaces and storage rooms count in the estate's votes (assembly/register/estates.py)
    "estate.ancillary_rule": {"counted": _flag, "reason": _text},
    "ballot.cast": {"motion": _text, "member": _text, "by": _one_of(*BY), "commitment": _hex256, "time": _time},
    "ballots.opened": {
        "motion": _text,
        "openings": _list_of(_object({"entry": _count, "member": _text, "salt": _hex256, "ballot": _ballot})),
    },
    "motion.closed": {"motion": _text, "tally_sha256": _hex256},
    "result.announced": dict(_RESULT),
    "result.final": {**_RESULT, "voided": _list_of(_count)},
    "objection.filed": {"motion": _text, "member": _text, "ballot": _optional_count, "ground": _text},
    "objection.upheld": {"motion": _text, "objection": _count, "voids": _optional_count},
    "objection.dismissed": {"motion": _text, "objection": _count},
    # motion attachments (assembly/voting/attachments.py): each file by its SHA-256, frozen at publish
    "attachment.added": {"meeting": _text, "motion": _text, "attachment": _text, "sha256": _hex256, "size": _count,
                         "media_type": _one_of("application/pdf", "image/jpeg", "image/png")},
    "attachment.removed": {"meeting": _text, "motion": _text, "attachment": _text, "sha256": _hex256},
    # proxies (assembly/proxies/service.py): the proxy by a keyed per-meeting pseudonym, the signed
    # authorisation by its SHA-256; never a name, an identity number or a login code
    "proxy.appointed": {"meeting": _text, "member": _text, "proxy": _text, "document_sha256": _hex256},
    "proxy.confirmed": {"meeting": _text, "member": _text, "proxy": _text, "appointment": _count,
                        "document_sha256": _hex256},
    "proxy.rejected": {"meeting": _text, "member": _text, "proxy": _text, "appointment": _count},
    "proxy.withdrawn": {"meeting": _text, "member": _text, "proxy": _text, "appointment": _count},
    "proxy.code_issued": {"meeting": _text, "proxy": _text, "serial": _count},
    # the scans show identity numbers in clear (assembly/proxies/scans.py): each opening, and the
    # erasure a year after the announcement with no case open
    "proxy.document_opened": {"meeting": _text, "member": _text, "proxy": _text, "appointment": _count,
                              "document_sha256": _hex256},
    "proxy.documents_erased": {"meeting": _text, "appointments": _list_of(_count, non_empty=True),
                               "announced_at": _time, "kept_until": _time},
    # a case about a meeting (assembly/voting/legal_holds.py): never its reason (typed by a person)
    "legal_hold.recorded": {"meeting": _text},
    "legal_hold.released": {"meeting": _text, "hold": _count},
    # the notice posted in the estate (assembly/voting/posting.py; Beijing Art. 35 ¶4): the photo by its SHA-256
    "meeting.posted": {"meeting": _text, "posted_at": _time, "photo_sha256": _hex256,
                      "media_type": _one_of("application/pdf", "image/jpeg", "image/png"), "earliest_open": _time},
    # paper ballots (assembly/voting/paper.py): the close with a paper phase, each entry and its check
    "voting.closed": {"meeting": _text, "closes_at": _time, "paper_until": _time},
    "paper.entered": {"meeting": _text, "motion": _text, "paper": _count, "member": _text, "unit": _text,
                      "handed_in": _time, "scan_sha256": _hex256},
    "paper.confirmed": {"motion": _text, "paper": _count, "entered": _count, "ballot": _count},
    "paper.mismatch": {"motion": _text, "paper": _count, "entered": _count},
    "paper.finished": {"meeting": _text, "by": _one_of("committee", "grace-ended", "settled"), "confirmed": _count,
                       "unconfirmed": _count},
    # the grace period ended with sheets unsettled that could change an outcome: the count waits
    "result.held": {"meeting": _text, "pending": _count, "papers": _list_of(_count, non_empty=True),
                    "motions": _list_of(_text, non_empty=True)},
}


def entry_problems(entry: Mapping[str, object]) -> list[str]:
    """Everything wrong with an entry's fields, in plain words; [] when it is well formed."""
    problems = []
    kind = entry.get("type")
    shapes = {**COMMON, **FIELDS.get(kind, {})} if isinstance(kind, str) else COMMON
    for name, shape in shapes.items():
        if name not in entry:
            problems.append(f"{kind or 'entry'} lacks field {name!r}")
            continue
        problem = shape(entry[name])
        if problem:
            problems.append(f"field {name!r} {problem}")
    if kind in ("result.announced", "result.final"):
        if ("passed" in entry) == ("elected" in entry):
            problems.append(f"{kind} holds exactly one of 'passed' (motion) or 'elected' (election)")
        elif "passed" in entry:
            if _flag(entry["passed"]) or _SHARE(entry.get("agree")):
                problems.append("a motion's result needs 'passed' true/false and 'agree' {area, heads}")
        elif _list_of(_text)(entry["elected"]):
            problems.append("'elected' must be a list of candidate ids")
    return problems


def make_entry(type: str, at: str | datetime, actor: Mapping[str, str], **fields: object) -> bytes:
    """The canonical bytes of a new entry, refusing one the verifier could not rely on.
    `fields` must include `index` (the entry's position, known to the estate's sequencer)."""
    if isinstance(at, datetime):
        at = format_time(at)
    entry = {"type": type, "at": at, "actor": dict(actor), **fields}
    problems = entry_problems(entry)
    if problems:
        raise EntryError("; ".join(problems))
    return canonical(entry)
