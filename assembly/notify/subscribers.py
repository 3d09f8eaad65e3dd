"""What notify does when other features raise events (composed in assembly.wiring): owners are told
of what concerns their card, their unit's ballots and proxies, and their co-owners' voter; the
residents' committee gets a record of every meeting event. All in the raiser's transaction."""

from __future__ import annotations

from sqlmodel import Session

from assembly.audit.store import Actor
from assembly.events.bus import Bus
from assembly.events.catalog import (
    BallotCast,
    CardActivated,
    CardEnded,
    MeetingEvent,
    MeetingPublished,
    ObjectionFiled,
    PinChanged,
    ProxyAppointed,
    ResultAnnounced,
    ResultFinal,
    ResultHeld,
    VoterChanged,
    VotingClosed,
    VotingOpened,
)
from assembly.notify import owners, service
from assembly.proxies.models import ProxyAppointment
from assembly.register.models import Estate, Person
from assembly.voting.models import Ballot, Meeting, Motion

# the residents' committee's record of each meeting event (the record's `event`, rules.md's list)
RECORDS: dict[type[MeetingEvent], str] = {
    MeetingPublished: "meeting.convened",
    VotingOpened: "voting.opened",
    VotingClosed: "voting.closed",
    ResultHeld: "result.held",
    ResultAnnounced: "result.announced",
    ObjectionFiled: "objection.filed",
    ResultFinal: "result.final",
}


def record_for_residents_committee(session: Session, event: MeetingEvent) -> None:
    service.notify(session, estate=session.get(Estate, event.estate_id), event=RECORDS[type(event)],
                   actor=Actor(event.actor, event.role), now=event.at, what=event.description,
                   evidence=event.evidence)


def tell_card_activated(session: Session, event: CardActivated) -> None:
    owners.card_activated(session, person=session.get(Person, event.person_id), card_number=event.card_number,
                          now=event.at)


def tell_pin_changed(session: Session, event: PinChanged) -> None:
    owners.pin_changed(session, person=session.get(Person, event.person_id), card_number=event.card_number,
                       now=event.at)


def tell_card_ended(session: Session, event: CardEnded) -> None:
    owners.card_ended(session, person=session.get(Person, event.person_id), card_number=event.card_number,
                      version=event.version, now=event.at)


def tell_ballot_cast(session: Session, event: BallotCast) -> None:
    owners.ballot_cast(session, meeting=session.get(Meeting, event.meeting_id),
                       motion=session.get(Motion, event.motion_id), ballot=session.get(Ballot, event.ballot_id),
                       now=event.at)


def tell_proxy_appointed(session: Session, event: ProxyAppointed) -> None:
    owners.proxy_appointed(session, meeting=session.get(Meeting, event.meeting_id),
                           appointment=session.get(ProxyAppointment, event.appointment_id),
                           proxy_name=event.proxy_name, now=event.at)


def tell_voter_changed(session: Session, event: VoterChanged) -> None:
    people = [session.get(Person, person_id) for person_id in event.recipients]
    owners.to_people(session, people=people, event=event.notice, text=event.text, now=event.at)


def subscribe(bus: Bus) -> None:
    for event_type in RECORDS:
        bus.subscribe(event_type, record_for_residents_committee)
    bus.subscribe(CardActivated, tell_card_activated)
    bus.subscribe(PinChanged, tell_pin_changed)
    bus.subscribe(CardEnded, tell_card_ended)
    bus.subscribe(BallotCast, tell_ballot_cast)
    bus.subscribe(ProxyAppointed, tell_proxy_appointed)
    bus.subscribe(VoterChanged, tell_voter_changed)
