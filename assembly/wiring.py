"""The composition root of reactions: which feature reacts to which event, which outbox topics are
delivered, which duties exist. The application (assembly.app), the command line (assembly.cli), the
tests and the benchmarks call `install()` once before any service runs; no feature subscribes itself.
docs/architecture.md has the same table in words.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from assembly.auth import sessions
from assembly.events import duties
from assembly.events.bus import BUS, Bus
from assembly.events.catalog import Event, RegisterVersionApplied, ResultAnnounced, ResultHeld
from assembly.events.outbox import TOPICS, Topics
from assembly.notify import gateway
from assembly.notify import subscribers as notify_subscribers
from assembly.proxies import standing as proxy_standing
from assembly.voting import card_ends, transfers

# Held paper sheets (a result held because sheets handed in on time are not yet settled) are the
# committee's to settle: within 3 days of the hold — as long as the longest grace period the law's
# reading allows for entering them (docs/decisions.md, "Duties").
PAPER_SETTLE_DAYS = 3


def _meeting_subject(event: Event) -> str:
    return f"meeting:{event.meeting_id}"


DUTIES = (
    duties.DutyRule(kind="paper.settle", holder="committee", opened_by=ResultHeld, closed_by=(ResultAnnounced,),
                    subject=_meeting_subject, deadline=lambda event: event.at + timedelta(days=PAPER_SETTLE_DAYS)),
)

_installed: set[int] = set()
_lock = threading.Lock()


def install(bus: Bus = BUS, topics: Topics = TOPICS) -> None:
    """Subscribe every reaction and register every topic, once per bus."""
    with _lock:
        if id(bus) in _installed:
            return
        topics.register(gateway.TOPIC)
        sessions.install_proxy_principal(proxy_standing.proxy_principal)  # a proxy's session speaks for them
        # a sale: the buyer gets the member's vote in open meetings, then the seller's card may end
        bus.subscribe(RegisterVersionApplied, transfers.on_register_version)
        bus.subscribe(RegisterVersionApplied, card_ends.on_register_version)
        notify_subscribers.subscribe(bus)  # owner notices, the residents' committee's records
        duties.install(bus, DUTIES)
        _installed.add(id(bus))
