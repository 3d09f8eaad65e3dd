"""The one place that decides who may do what, and over which estates (rules.md, "People and their rooms").

Routes and services ask here; templates only mirror the answer. An estate is a tenant: every query
that reads estate data is narrowed with `visible_estate_ids` / `scope_to_estates`, and every route
that names an estate loads it through `estate_for(action)`, which answers 401/403/404 before the
handler runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlmodel import Session

from assembly.errors import Forbidden, NotFound, Unauthenticated
from assembly.register.models import Estate
from assembly.web.deps import SessionDep


class Role(StrEnum):
    OWNER = "owner"  # 业主 (card login)
    COMMITTEE_CHAIR = "committee_chair"  # 业主委员会主任
    COMMITTEE_MEMBER = "committee_member"  # 业主委员会委员
    COMMITTEE_STAFF = "committee_staff"  # 业主委员会工作人员
    RESIDENTS_COMMITTEE = "residents_committee"  # 社区居委会工作人员
    OBSERVER = "observer"  # 观察员
    STREET_OFFICE = "street_office"  # 街道办事处
    ADMIN = "admin"  # 平台管理员
    PROXY = "proxy"  # 代理人 (code login, one meeting only; assembly.proxies.service)


ROLE_LABELS = {
    Role.OWNER: "业主",
    Role.COMMITTEE_CHAIR: "业主委员会主任",
    Role.COMMITTEE_MEMBER: "业主委员会委员",
    Role.COMMITTEE_STAFF: "业主委员会工作人员",
    Role.RESIDENTS_COMMITTEE: "社区居委会",
    Role.OBSERVER: "观察员",
    Role.STREET_OFFICE: "街道办事处",
    Role.ADMIN: "平台管理员",
    Role.PROXY: "代理人",
}
COMMITTEE_ROLES = frozenset({Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, Role.COMMITTEE_STAFF})
STAFF_ROLES = frozenset(Role) - {Role.OWNER, Role.PROXY}
# The second factor is required for these; offered to every other account.
TOTP_REQUIRED = frozenset({Role.STREET_OFFICE, Role.ADMIN})


class Action(StrEnum):
    # what an owner does
    VOTE = "vote"
    PETITION_SIGN = "petition.sign"
    MEMBER_RATE = "member.rate"
    RESULTS_READ = "results.read"
    RECEIPT_CHECK = "receipt.check"
    OBJECTION_FILE = "objection.file"
    OWNER_HOME = "owner.home"
    SCREEN_LOGIN_CONFIRM = "screen_login.confirm"  # log a shared screen in from one's phone (scan-to-login)
    MEETING_READ = "meeting.read"  # meetings, motions, live turnout and announced results of the estate
    UNIT_RESULTS_READ = "results.units"  # per unit: room, area, choice (never names); owners of the estate only
    VOTER_DESIGNATE = "voter.designate"  # co-owners propose, agree to or refuse their unit's voter
    PROXY_APPOINT = "proxy.appoint"  # appoint (upload the signed authorisation) and withdraw a proxy
    # what a proxy does, in the one meeting of their login (routes check the meeting: assembly.proxies.pages)
    PROXY_MEETING_READ = "proxy.meeting_read"
    PROXY_VOTE = "proxy.vote"  # for the members whose confirmed authorisations name them
    PROXY_RECEIPT_READ = "proxy.receipt_read"
    # what the committee does
    REGISTER_KEEP = "register.keep"
    OWNERS_READ = "register.owners"  # units and owners of record as pseudonyms, with card states (no names)
    MOTION_DRAFT = "motion.draft"
    MOTION_PUBLISH = "motion.publish"
    MEETING_CONVENE = "meeting.convene"
    PAPER_BALLOT_ENTER = "paper_ballot.enter"
    PAPER_BALLOTS_READ = "paper_ballot.read"  # the paper entries of a meeting, their scans and checkers (read-only)
    RESULT_PUBLISH = "result.publish"
    VOTED_UNITS_READ = "voted_units.read"  # which units voted, never how
    PROXY_CONFIRM = "proxy.confirm"  # confirm or reject an authorisation, issue and reissue the proxy's code
    PROXY_READ = "proxy.read"  # every authorisation of the estate (read-only; the scan itself: PROXY_DOCUMENT_OPEN)
    # the signed authorisation's scan shows identity numbers in clear: the committee people who decide
    # on it (chair, members) and observers open it, each opening logged (assembly.proxies.scans)
    PROXY_DOCUMENT_OPEN = "proxy.document_open"
    LEGAL_HOLD_RECORD = "legal_hold.record"  # record or release a case about a meeting (keeps what it needs)
    # residents' committee
    NOTIFICATION_RECEIVE = "notification.receive"
    OPINION_RECORD = "opinion.record"
    REVOCATION_REQUEST = "revocation.request"
    CARD_ISSUE = "card.issue"  # issue, reissue, revoke owner cards
    # observers and everyone who audits
    ESTATE_READ_ALL = "estate.read_all"
    AUDIT_VERIFY = "audit.verify"  # "verify now" on the platform
    AUDIT_READ = "audit.read"  # the log's entries, proofs and receipts (API and pages)
    AUDIT_EXPORT = "audit.export"  # download the export: personal data leaves the platform (observers only)
    ASSEMBLY_SCORE = "assembly.score"
    SECURITY_EVENTS_READ = "security_events.read"
    # street office
    ESTATE_ONBOARD = "estate.onboard"
    REGISTER_CHECK = "register.check"
    OBSERVER_APPOINT = "observer.appoint"
    CREDIT_RECORD = "credit.record"
    APPEAL_DECIDE = "appeal.decide"
    REVOCATION_DECIDE = "revocation.decide"
    RANKING_PUBLISH = "ranking.publish"
    # accounts
    ACCOUNT_SELF = "account.self"  # own password, second factor, sessions
    ACCOUNT_MANAGE = "account.manage"  # create accounts below one's own role, change their scope


_OWNER = {
    Action.VOTE, Action.PETITION_SIGN, Action.MEMBER_RATE, Action.RESULTS_READ, Action.RECEIPT_CHECK,
    Action.OBJECTION_FILE, Action.OWNER_HOME, Action.MEETING_READ, Action.UNIT_RESULTS_READ,
    Action.SCREEN_LOGIN_CONFIRM, Action.PROXY_APPOINT,
    Action.VOTER_DESIGNATE,
}
_COMMITTEE_STAFF = {Action.REGISTER_KEEP, Action.OWNERS_READ, Action.MOTION_DRAFT, Action.PAPER_BALLOT_ENTER,
                    Action.VOTED_UNITS_READ,
                    Action.RESULTS_READ, Action.ACCOUNT_SELF, Action.MEETING_READ, Action.PROXY_READ,
                    Action.PAPER_BALLOTS_READ}
# Confirming a proxy's authorisation is the committee's act: its elected chair and members, not its staff.
_COMMITTEE = _COMMITTEE_STAFF | {Action.MOTION_PUBLISH, Action.MEETING_CONVENE, Action.RESULT_PUBLISH,
                                 Action.PROXY_CONFIRM, Action.PROXY_DOCUMENT_OPEN, Action.LEGAL_HOLD_RECORD}
_AUDITOR = {Action.ESTATE_READ_ALL, Action.AUDIT_VERIFY, Action.RESULTS_READ, Action.VOTED_UNITS_READ,
            Action.AUDIT_READ, Action.SECURITY_EVENTS_READ, Action.ACCOUNT_SELF, Action.MEETING_READ,
            Action.PROXY_READ, Action.PAPER_BALLOTS_READ}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(_OWNER),
    Role.COMMITTEE_CHAIR: frozenset(_COMMITTEE),
    Role.COMMITTEE_MEMBER: frozenset(_COMMITTEE),
    Role.COMMITTEE_STAFF: frozenset(_COMMITTEE_STAFF),
    Role.RESIDENTS_COMMITTEE: frozenset(
        _AUDITOR | {Action.NOTIFICATION_RECEIVE, Action.OPINION_RECORD, Action.REVOCATION_REQUEST, Action.CARD_ISSUE,
                    Action.OWNERS_READ}
    ),
    # Observers receive exports under the platform's confidentiality terms (audit-log.md); the
    # residents' committee and the street office read and verify on the platform.
    Role.OBSERVER: frozenset(_AUDITOR | {Action.ASSEMBLY_SCORE, Action.AUDIT_EXPORT, Action.PROXY_DOCUMENT_OPEN}),
    Role.STREET_OFFICE: frozenset(
        _AUDITOR
        | {
            Action.ESTATE_ONBOARD, Action.REGISTER_CHECK, Action.CARD_ISSUE, Action.OWNERS_READ,
            Action.OBSERVER_APPOINT,
            Action.CREDIT_RECORD, Action.APPEAL_DECIDE, Action.REVOCATION_DECIDE, Action.RANKING_PUBLISH,
            Action.LEGAL_HOLD_RECORD,
            Action.NOTIFICATION_RECEIVE, Action.ACCOUNT_MANAGE,
        }
    ),
    # The platform administrator runs the platform and creates street-office accounts; it reads
    # security events, but holds no estate role (it never issues cards, keeps registers or votes).
    Role.ADMIN: frozenset({Action.ACCOUNT_SELF, Action.ACCOUNT_MANAGE, Action.SECURITY_EVENTS_READ}),
    # A proxy 代理人 logs in with the code issued once the committee confirmed the authorisation; the
    # principal names its one meeting (`meeting_id`), and the proxy routes refuse every other meeting.
    Role.PROXY: frozenset({Action.PROXY_MEETING_READ, Action.PROXY_VOTE, Action.PROXY_RECEIPT_READ}),
}

# Who creates whom: each account is created by the role above it, for estates within its own scope.
CREATES: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.STREET_OFFICE}),
    Role.STREET_OFFICE: frozenset({Role.OBSERVER, Role.RESIDENTS_COMMITTEE} | COMMITTEE_ROLES),
}


def allowed(role: Role | str | None, action: Action) -> bool:
    if role is None:
        return False
    return action in ROLE_ACTIONS.get(Role(role), frozenset())


def may_create(creator: Role | str | None, role: Role | str) -> bool:
    return creator is not None and Role(role) in CREATES.get(Role(creator), frozenset())


class AllEstates:
    """The scope of an account that spans every estate (the platform administrator)."""

    def __contains__(self, estate_id: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ALL_ESTATES"


ALL_ESTATES = AllEstates()


@dataclass(frozen=True)
class Principal:
    """Who is asking: anonymous, an owner (through a card), or a staff account."""

    kind: str = "anonymous"  # anonymous | owner | account | proxy
    role: Role | None = None
    estate_ids: frozenset[int] | AllEstates = field(default_factory=frozenset)
    account_id: int | None = None
    card_id: int | None = None
    person_id: int | None = None
    session_id: int | None = None
    pseudonym: str | None = None
    display_name: str = ""
    street_office_id: int | None = None
    proxy_id: int | None = None  # a proxy's login (assembly.proxies.models.ProxyLogin)
    meeting_id: int | None = None  # the one meeting a proxy's login is for

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, "") if self.role else ""

    def may(self, action: Action) -> bool:
        return allowed(self.role, action)

    def covers(self, estate_id: int) -> bool:
        return estate_id in self.estate_ids


ANONYMOUS = Principal()


def visible_estate_ids(principal: Principal) -> frozenset[int] | AllEstates:
    """The estates whose data this principal may see at all (actions narrow it further)."""
    return principal.estate_ids if principal.authenticated else frozenset()


def scope_to_estates(query, column, principal: Principal):
    """`query` narrowed to the principal's estates: every query over estate data goes through here."""
    ids = visible_estate_ids(principal)
    if isinstance(ids, AllEstates):
        return query
    return query.where(column.in_(sorted(ids)))


def check(principal: Principal, action: Action, *, estate_id: int | None = None) -> None:
    """Raise unless `principal` may do `action` (in `estate_id`, when given). Services call this too."""
    if not principal.authenticated:
        raise Unauthenticated("请先登录 / please log in")
    if not principal.may(action):
        raise Forbidden("您的角色不能执行此操作 / your role may not do this", code="role_forbidden")
    if estate_id is not None and not principal.covers(estate_id):
        raise Forbidden("您无权访问该小区的数据 / this estate is outside your scope", code="estate_forbidden")


# --- FastAPI dependencies --------------------------------------------------------------------------


def current_principal(request: Request) -> Principal:
    """Set for every request by assembly.auth.web.authenticate (an application-wide dependency)."""
    return getattr(request.state, "principal", ANONYMOUS)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(action: Action):
    """A dependency: the principal, if they may do `action` at all; 401/403 otherwise."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        check(principal, action)
        return principal

    dependency.__name__ = f"require_{action.value.replace('.', '_')}"
    return Depends(dependency)


def _estate_by_code(session: Session, code: str) -> Estate:
    estate = session.scalars(select(Estate).where(Estate.code == code)).first()
    if estate is None:
        raise NotFound(f"没有代码为 “{code}” 的小区 / no estate with the code '{code}'", code="estate_not_found")
    return estate


def load_estate(code: str, session: SessionDep) -> Estate:
    """The estate named by the `{code}` path parameter; 404 if there is none (estates are public)."""
    return _estate_by_code(session, code)


def estate_for(action: Action):
    """A dependency: the `{code}` estate, if the principal may do `action` in it (401/403/404 first)."""

    def dependency(code: str, principal: CurrentPrincipal, session: SessionDep) -> Estate:
        if not principal.authenticated:
            raise Unauthenticated("请先登录 / please log in")
        estate = _estate_by_code(session, code)
        check(principal, action, estate_id=estate.id)
        return estate

    dependency.__name__ = f"estate_for_{action.value.replace('.', '_')}"
    return Depends(dependency)


EstateDep = Annotated[Estate, Depends(load_estate)]
