"""Every domain event the platform raises, as frozen dataclasses (docs/architecture.md lists who
raises and who subscribes). An event names what happened with ids and the few values a subscriber
needs; subscribers load the rest in the same session (the objects are in its identity map).

Meeting events carry `description` (the fact in the platform's words, Chinese, as the residents'
committee's record states it) and `evidence` (the page where it can be checked): the raiser knows
what happened; a subscriber decides who is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SYSTEM = "system"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in one estate at `at`, done by `actor` (the audit log's actor id) in
    `role` ("system" for the job runner)."""

    estate_id: int
    at: datetime
    actor: str = SYSTEM
    role: str = SYSTEM


# -- meetings: the residents' committee's record of each, credit and supervision later ----------------

@dataclass(frozen=True, kw_only=True)
class MeetingEvent(Event):
    meeting_id: int
    description: str
    evidence: str


@dataclass(frozen=True, kw_only=True)
class MeetingPublished(MeetingEvent):
    """The committee published the meeting's notice (召集); the notice period starts."""


@dataclass(frozen=True, kw_only=True)
class VotingOpened(MeetingEvent):
    """Voting opened and the roll froze."""


@dataclass(frozen=True, kw_only=True)
class VotingClosed(MeetingEvent):
    """Electronic voting ended; a paper phase may follow."""


@dataclass(frozen=True, kw_only=True)
class ResultHeld(MeetingEvent):
    """The count is held: paper sheets handed in on time are not yet settled and could change it."""


@dataclass(frozen=True, kw_only=True)
class ResultAnnounced(MeetingEvent):
    """The result was counted and announced; the objection period runs."""


@dataclass(frozen=True, kw_only=True)
class ResultFinal(MeetingEvent):
    """The objection period ended with every objection decided (log entry `result.final`)."""


@dataclass(frozen=True, kw_only=True)
class ObjectionFiled(MeetingEvent):
    motion_id: int
    objection_id: int


@dataclass(frozen=True, kw_only=True)
class ObjectionDecided(Event):
    meeting_id: int
    motion_id: int
    objection_id: int
    upheld: bool


# -- ballots and proxies ------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class BallotCast(Event):
    """A ballot was stored (never its choice here): its member's owners are told."""

    meeting_id: int
    motion_id: int
    ballot_id: int


@dataclass(frozen=True, kw_only=True)
class ProxyAppointed(Event):
    """An owner (or the committee for them) appointed a proxy, waiting for the committee's check."""

    meeting_id: int
    appointment_id: int
    proxy_name: str


# -- the register and cards -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RegisterVersionApplied(Event):
    """A register version became the estate's current one (an import, a sale, a correction)."""

    version: int


@dataclass(frozen=True, kw_only=True)
class CardEvent(Event):
    person_id: int
    card_number: str


@dataclass(frozen=True, kw_only=True)
class CardActivated(CardEvent):
    """The owner activated their card and chose a PIN."""


@dataclass(frozen=True, kw_only=True)
class PinChanged(CardEvent):
    """The owner changed their PIN."""


@dataclass(frozen=True, kw_only=True)
class CardEnded(CardEvent):
    """The card ended because its holder owns nothing in the estate any more (register `version`)."""

    version: int


@dataclass(frozen=True, kw_only=True)
class VoterChanged(Event):
    """Co-owners' voter 共有人投票人: a proposal, a refusal or a designation. `recipients` are the
    person ids to tell, `notice` the owner notice's event name, `text` what they read."""

    member_key: str
    notice: str
    recipients: tuple[int, ...]
    text: str


# -- duties -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class DutyMissed(Event):
    """A duty's deadline passed while it was open (raised by the job runner, once per duty)."""

    duty_id: int
    kind: str
    subject: str
    deadline: datetime
