"""The event bus 领域事件: a feature states what happened; whoever must react subscribes.

A service calls `publish(session, SomethingHappened(...))` in its own transaction. Every subscriber
of that event's class (and of its base classes) runs at once, in the same session, in the order it
was subscribed: what it writes commits or rolls back with the fact, and a subscriber that raises
fails the fact (the caller's unit of work rolls back). Work that must wait for the commit — a message
to a gateway, a delivery to another system — is one outbox row written by the subscriber
(assembly.events.outbox), never a thread or a queue in memory.

Subscriptions are made where the application is composed (assembly.wiring), never by the module
that raises: the raiser does not know who listens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from assembly.events.catalog import Event

log = logging.getLogger("assembly.events")
E = TypeVar("E", bound=Event)
Subscriber = Callable[[Session, E], None]


class Bus:
    """Subscribers by event class. Publishing runs them synchronously, in the caller's transaction."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Event], list[Subscriber]] = {}

    def subscribe(self, event_type: type[E], subscriber: Subscriber) -> None:
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise TypeError(f"{event_type!r} is not an event class")
        handlers = self._subscribers.setdefault(event_type, [])
        if subscriber not in handlers:  # composing twice (the CLI and the app in one process) subscribes once
            handlers.append(subscriber)

    def unsubscribe(self, event_type: type[E], subscriber: Subscriber) -> None:
        handlers = self._subscribers.get(event_type, [])
        if subscriber in handlers:
            handlers.remove(subscriber)

    def subscribers_of(self, event_type: type[Event]) -> list[Subscriber]:
        """The subscribers an event of this class reaches: its own class's first, then its bases'."""
        found: list[Subscriber] = []
        for klass in event_type.__mro__:
            if klass in self._subscribers:
                found.extend(self._subscribers[klass])
        return found

    def publish(self, session: Session, event: Event) -> None:
        for subscriber in self.subscribers_of(type(event)):
            subscriber(session, event)

    def clear(self) -> None:
        self._subscribers.clear()


BUS = Bus()


def publish(session: Session, event: Event) -> None:
    """Raise `event` on the application's bus, in the caller's transaction."""
    BUS.publish(session, event)


def subscribe(event_type: type[E], subscriber: Subscriber) -> None:
    BUS.subscribe(event_type, subscriber)
