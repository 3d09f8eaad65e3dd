"""What the verifier knows of proxies 代理人 from the log: which authorisations are in force.

A `ballot.cast` with `by: "proxy"` counts only if, earlier in the log, a `proxy.confirmed` entry of
the same meeting named its member and its actor (the proxy's pseudonym), and no `proxy.withdrawn`
ended that authorisation before the ballot (docs/audit-entries.md, "Proxies").
"""

from __future__ import annotations

from collections.abc import Mapping


class Authorisations:
    def __init__(self) -> None:
        self.in_force: dict[tuple[str, str], str] = {}  # (meeting, member) -> proxy pseudonym

    def feed(self, entry: Mapping[str, object]) -> None:
        key = (str(entry.get("meeting")), str(entry.get("member")))
        if entry["type"] == "proxy.confirmed":
            self.in_force[key] = str(entry["proxy"])
        elif entry["type"] == "proxy.withdrawn" and self.in_force.get(key) == str(entry["proxy"]):
            del self.in_force[key]

    def allows(self, *, meeting: str, member: str, actor: Mapping[str, object]) -> bool:
        return actor.get("role") == "proxy" and self.in_force.get((meeting, member)) == actor.get("id")
