"""The access matrix: every route of the application × every role (and anonymous) × own / other estate.

The table below is the expected answer for each. The test first compares the table with the
application's route table: a route without an entry fails, so a new route cannot arrive unreviewed.
"Own" is the estate the scoped accounts and the owner belong to (alpha); "other" is an estate
under another street office (beta). The administrator spans both.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import pytest

from assembly.audit import service as audit_service
from assembly.auth import cards, totp
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.permissions import Role
from assembly.register.models import Estate

ANON, OWNER = "anonymous", "owner"
CHAIR, MEMBER, CSTAFF = "committee_chair", "committee_member", "committee_staff"
RC, OBS, SO, ADMIN = "residents_committee", "observer", "street_office", "admin"
STAFF = (CHAIR, MEMBER, CSTAFF, RC, OBS, SO, ADMIN)
PROXY = "proxy"  # 代理人: a code login for one meeting of alpha (see _setup)
WHO = (ANON, OWNER, *STAFF, PROXY)
OWN, OTHER = "own", "other"


def every(status: int) -> dict[str, int]:
    return dict.fromkeys(WHO, status)


def answers(default: int, **exceptions: int) -> dict[str, int]:
    table = every(default)
    table.update({(ANON if key == "anon" else key): value for key, value in exceptions.items()})
    return table


@dataclass(frozen=True)
class Case:
    """What each visitor gets; `estates` says whether the route takes an own/other estate (or card, account)."""

    expect: dict[str, dict[str, int]]  # variant → who → status
    fresh: bool = False  # the request ends the visitor's session: use a throw-away login
    body: str = "none"  # which request body to send (see `_request`)

    @property
    def variants(self):
        return tuple(self.expect)


def one(answer: dict[str, int], **options) -> Case:
    return Case({OWN: answer}, **options)


def scoped(own: dict[str, int], other: dict[str, int], **options) -> Case:
    return Case({OWN: own, OTHER: other}, **options)


PAGE_STAFF = answers(200, anon=303, owner=403, proxy=403)  # staff pages: people are sent to log in; owners refused
PAGE_OWNER = answers(403, anon=303, owner=200)
AUDITORS = {OBS: 200, RC: 200, SO: 200, ADMIN: 200}
AUDIT_PAGE = answers(403, anon=303, **{OBS: 200, RC: 200, SO: 200})
AUDIT_API = answers(403, anon=401, **{OBS: 200, RC: 200, SO: 200})
# meetings, turnout and results: the estate's owners, committee and auditors
READERS = answers(200, admin=403, proxy=403)
READERS_404 = answers(404, admin=403, proxy=403)  # a proxy reads only their own meeting, through /proxy
CONVENERS_404 = answers(403, anon=401, committee_chair=404, committee_member=404)
VOTER_404 = answers(403, anon=401, owner=404)


def DRAFTERS(status: int) -> dict[str, int]:  # noqa: N802 - reads as the constant it stands for
    return {CHAIR: status, MEMBER: status, CSTAFF: status}


def PROXY_READERS(status: int) -> dict[str, int]:  # noqa: N802 - every authorisation and its document
    return {CHAIR: status, MEMBER: status, CSTAFF: status, RC: status, OBS: status, SO: status}


def PROXY_SCAN_OPENERS(status: int) -> dict[str, int]:  # noqa: N802 - the scans show identity numbers in clear
    return {CHAIR: status, MEMBER: status, OBS: status}


OWNER_404 = answers(403, anon=401, owner=404)
OWNER_PAGE_404 = answers(403, anon=303, owner=404)


def PAPER_READERS(status: int) -> dict[str, int]:  # noqa: N802 - paper entries, their scans and checkers
    return {CHAIR: status, MEMBER: status, CSTAFF: status, RC: status, OBS: status, SO: status}


def VOTED_UNITS(status: int) -> dict[str, int]:  # noqa: N802 - who may see which units voted (never how)
    return {CHAIR: status, MEMBER: status, CSTAFF: status, RC: status, OBS: status, SO: status}


EXPECTED: dict[tuple[str, str], Case] = {
    # public
    ("GET", "/"): one(every(200)),
    ("GET", "/healthz"): one(every(200)),
    ("POST", "/lang"): one(every(422)),  # the language switch; no language named here (tests/web/test_i18n.py)
    ("GET", "/api/openapi.json"): one(every(200)),
    ("GET", "/estate/{code}"): scoped(every(200), every(200)),
    ("GET", "/api/estates/{code}"): scoped(every(200), every(200)),
    # the public side of the audit log (both estates have a signed checkpoint: see _setup)
    ("GET", "/api/estates/{code}/checkpoint"): scoped(every(200), every(200)),
    ("GET", "/api/estates/{code}/keys"): scoped(every(200), every(200)),
    # staff login: anyone may try (wrong password here), nobody gets in by it
    ("GET", "/login"): one(every(200)),
    ("POST", "/login"): one(every(401), body="bad_login"),
    ("GET", "/login/totp"): one(every(303)),  # no password step pending: back to /login
    ("POST", "/login/totp"): one(every(303), body="totp"),
    ("GET", "/logged-out"): one(every(200)),
    ("POST", "/logout"): one(every(303), fresh=True),
    ("POST", "/logout/everywhere"): one(answers(303, anon=401), fresh=True),
    ("GET", "/api/auth/csrf"): one(every(200)),
    ("POST", "/api/auth/login"): one(every(401), body="bad_login"),
    ("POST", "/api/auth/logout"): one(every(200), fresh=True),
    ("POST", "/api/auth/logout-everywhere"): one(answers(200, anon=401), fresh=True),
    ("GET", "/api/me"): one(answers(200, anon=401)),
    # second-factor set-up through the API (admin and street office have theirs already); the
    # other staff started theirs at POST /account/totp/start (sorted before): a wrong code is 401
    ("POST", "/api/auth/totp/confirm"): one(answers(401, owner=403, proxy=403, street_office=409, admin=409),
                                            body="totp_json"),
    ("GET", "/api/street-offices"): one(answers(403, anon=401, street_office=200, admin=200)),  # ids for accounts
    ("POST", "/api/auth/totp/setup"): one(answers(200, anon=401, owner=403, proxy=403, street_office=409,
                                                  admin=409)),
    # the account page (admin and street office already have their second factor: set-up redirects)
    ("GET", "/account"): one(PAGE_STAFF),
    ("GET", "/account/totp"): one(answers(303, owner=403, proxy=403)),  # nothing to show before the POST below
    ("POST", "/account/totp/start"): one(answers(303, anon=401, owner=403, proxy=403)),
    ("POST", "/account/totp"): one(answers(303, anon=401, owner=403, proxy=403), body="totp"),  # not started: back
    ("GET", "/account/password"): one(PAGE_STAFF),
    ("POST", "/account/password"): one(answers(401, anon=401, owner=403, proxy=403), body="bad_password_change"),
    # security events: auditors of the estate; the administrator everywhere; never the committee
    ("GET", "/estate/{code}/security"): scoped(
        {**answers(403, anon=303), **AUDITORS}, answers(403, anon=303, admin=200)
    ),
    ("GET", "/api/estates/{code}/security-events"): scoped(
        {**answers(403, anon=401), **AUDITORS}, answers(403, anon=401, admin=200)
    ),
    # the audit log for those who audit: observers, residents' committee, street office (not the administrator)
    ("GET", "/audit"): one(answers(403, anon=303, **{OBS: 200, RC: 200, SO: 200})),
    ("GET", "/estate/{code}/audit"): scoped(AUDIT_PAGE, answers(403, anon=303)),
    ("GET", "/estate/{code}/audit/verify"): scoped(AUDIT_PAGE, answers(403, anon=303)),
    ("POST", "/estate/{code}/audit/verify"): scoped(AUDIT_API, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/audit/entries"): scoped(AUDIT_API, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/audit/proof/inclusion"): scoped(AUDIT_API, answers(403, anon=401),
                                                                 body="inclusion"),
    ("GET", "/api/estates/{code}/audit/proof/consistency"): scoped(AUDIT_API, answers(403, anon=401),
                                                                   body="consistency"),
    ("GET", "/api/estates/{code}/audit/receipt/{index}"): scoped(AUDIT_API, answers(403, anon=401)),
    # the export carries personal data off the platform: observers only
    ("GET", "/api/estates/{code}/audit/export"): scoped(answers(403, anon=401, observer=200), answers(403, anon=401)),
    # the owner's side
    ("GET", "/me"): one(PAGE_OWNER),
    ("GET", "/me/pin"): one(PAGE_OWNER),
    ("POST", "/me/pin"): one(answers(403, anon=401, owner=401), body="bad_pin_change"),
    ("GET", "/api/me/notices"): one(answers(403, anon=401, owner=200)),
    # co-owners' voter: the owner's side (no unit given: 422; no such proposal: 404) and the committee's record
    ("GET", "/me/voters"): one(PAGE_OWNER),
    ("POST", "/me/voters"): one(answers(403, anon=401, owner=422)),
    ("POST", "/me/voters/{designation}/agree"): one(answers(403, anon=401, owner=404)),
    ("POST", "/me/voters/{designation}/withdraw"): one(answers(403, anon=401, owner=404)),
    ("GET", "/estate/{code}/voters"): scoped(answers(403, anon=303, **DRAFTERS(200)), answers(403, anon=303)),
    ("POST", "/estate/{code}/voters"): scoped(answers(403, anon=401, **DRAFTERS(422)), answers(403, anon=401)),
    # a card's pages: the token is the credential, whoever holds the phone (own / other estate's card)
    ("GET", "/c/{token}"): scoped(every(200), every(200)),
    ("POST", "/c/{token}/activate"): scoped(every(409), every(409), body="activation"),  # already activated
    ("POST", "/c/{token}/pin"): scoped(every(303), every(303), body="pin"),  # no activation step pending
    ("POST", "/c/{token}/login"): scoped(every(422), every(422), body="empty_pin"),
    ("POST", "/api/cards/{token}/activate"): scoped(every(409), every(409), body="activation"),
    ("POST", "/api/cards/{token}/login"): scoped(every(422), every(422), body="empty_pin"),
    # issuing cards: residents' committee and street office, in their own estates only
    ("POST", "/api/estates/{code}/cards"): scoped(
        answers(403, anon=401, residents_committee=201, street_office=201), answers(403, anon=401), body="person"
    ),
    ("POST", "/api/estates/{code}/cards/{number}/reissue"): scoped(
        answers(403, anon=401, residents_committee=201, street_office=201), answers(403, anon=401), body="reason"
    ),
    ("POST", "/api/estates/{code}/cards/{number}/revoke"): scoped(
        answers(403, anon=401, residents_committee=200, street_office=200), answers(403, anon=401), body="reason"
    ),
    # accounts: the street office for its estates; the administrator only for street offices (404: not theirs)
    ("POST", "/api/accounts"): scoped(
        answers(403, anon=401, street_office=201), answers(403, anon=401), body="new_observer"
    ),
    ("PUT", "/api/accounts/{username}/estates"): scoped(
        answers(403, anon=401, street_office=200, admin=404), answers(403, anon=401, street_office=404, admin=404),
        body="own_estates",
    ),
    ("POST", "/api/accounts/{username}/disable"): scoped(
        answers(403, anon=401, street_office=200, admin=404), answers(403, anon=401, street_office=404, admin=404),
    ),
    # printing owner cards (residents' committee and street office of the estate; never the committee)
    ("GET", "/estate/{code}/cards"): scoped(answers(403, anon=303, residents_committee=200, street_office=200),
                                            answers(403, anon=303)),
    ("POST", "/estate/{code}/cards/print"): scoped(answers(403, anon=401, residents_committee=200, street_office=200),
                                                   answers(403, anon=401), body="print"),
    ("POST", "/api/estates/{code}/cards/print"): scoped(answers(403, anon=401, residents_committee=201,
                                                               street_office=201), answers(403, anon=401),
                                                       body="print_json"),
    # the owners of record as pseudonyms with card states: the committee and the card issuers
    ("GET", "/api/estates/{code}/owners"): scoped(
        answers(403, anon=401, residents_committee=200, street_office=200, **DRAFTERS(200)), answers(403, anon=401)),
    ("POST", "/api/estates/{code}/register"): scoped(answers(403, anon=401, **DRAFTERS(422)), answers(403, anon=401)),
    # the street office records whether parking spaces and storage rooms count (no body: 422 once allowed)
    ("PUT", "/api/estates/{code}/ancillary-rule"): scoped(answers(403, anon=401, street_office=422),
                                                         answers(403, anon=401)),
    ("POST", "/estate/{code}/cards/download"): scoped(  # a forged download token: gone
        answers(403, anon=401, residents_committee=410, street_office=410), answers(403, anon=401), body="pickup"),
    # meetings and voting (the meeting, motion, ballot and record named do not exist: 404 once allowed)
    ("GET", "/api/estates/{code}/meetings"): scoped({**READERS, ANON: 401}, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings"): scoped(answers(403, anon=401, **DRAFTERS(201)), answers(403, anon=401),
                                                     body="meeting"),
    ("GET", "/api/estates/{code}/meetings/{meeting}"): scoped({**READERS_404, ANON: 401}, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/publish"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/open"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/mine"): scoped(VOTER_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/ballots"): scoped(
        VOTER_404, answers(403, anon=401), body="ballot"),
    ("GET", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/ballots/{ballot}/receipt"): scoped(
        VOTER_404, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/units"): scoped(VOTER_404, answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings"): scoped({**READERS, ANON: 303}, answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/new"): scoped(answers(403, anon=303, **DRAFTERS(200)), answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings"): scoped(answers(403, anon=401, **DRAFTERS(422)), answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}"): scoped({**READERS_404, ANON: 303}, answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/publish"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/open"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}"): scoped({**READERS_404, ANON: 303},
                                                                         answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/motions/{motion}/vote"): scoped(VOTER_404, answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/ballots/{ballot}"): scoped(
        answers(403, anon=303, owner=404), answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/ballots/{ballot}/receipt.txt"): scoped(
        answers(403, anon=303, owner=404), answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/motions/{motion}/objections"): scoped(VOTER_404,
                                                                                   answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/motions/{motion}/objections/{objection}"): scoped(
        CONVENERS_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/objections"): scoped(
        VOTER_404, answers(403, anon=401), body="objection"),
    ("POST", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/objections/{objection}/decision"): scoped(
        CONVENERS_404, answers(403, anon=401), body="decision"),
    ("GET", "/me/votes"): one(answers(403, anon=303, owner=303)),  # the owner is sent to their estate's meetings
    # paper ballots: the committee enters and confirms, chair and members finish; committee and auditors read
    ("GET", "/estate/{code}/meetings/{meeting}/paper"): scoped(answers(403, anon=303, **PAPER_READERS(404)),
                                                               answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/paper"): scoped(answers(403, anon=401, **DRAFTERS(404)),
                                                                answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}/paper/{entry}"): scoped(answers(403, anon=303, **PAPER_READERS(404)),
                                                                       answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/paper/{entry}/scan"): scoped(
        answers(403, anon=303, **PAPER_READERS(404)), answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/paper/{entry}/confirm"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/paper/finish"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/paper"): scoped(answers(403, anon=401, **PAPER_READERS(404)),
                                                                    answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/paper"): scoped(answers(403, anon=401, **DRAFTERS(404)),
                                                                     answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/paper/{entry}/confirm"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/paper/finish"): scoped(CONVENERS_404, answers(403, anon=401)),
    # proxies: the owner appoints and withdraws; the committee and auditors read; chair and members decide
    ("GET", "/estate/{code}/meetings/{meeting}/proxy"): scoped(OWNER_PAGE_404, answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxy"): scoped(OWNER_404, answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxy/{appointment}/withdraw"): scoped(OWNER_404,
                                                                                      answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}/proxies"): scoped(answers(403, anon=303, **PROXY_READERS(404)),
                                                                 answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/proxies/{appointment}/document"): scoped(
        answers(403, anon=303, **PROXY_SCAN_OPENERS(404)), answers(403, anon=303)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxies/{appointment}/confirm"): scoped(CONVENERS_404,
                                                                                       answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxies/{appointment}/reject"): scoped(CONVENERS_404,
                                                                                      answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxy-logins/{login}/reissue"): scoped(CONVENERS_404,
                                                                                      answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/proxy-logins/{login}/slip.pdf"): scoped(CONVENERS_404,
                                                                                       answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/proxies/mine"): scoped(OWNER_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/proxies"): scoped(OWNER_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/proxies/{appointment}/withdraw"): scoped(
        OWNER_404, answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/proxies"): scoped(answers(403, anon=401, **PROXY_READERS(404)),
                                                                      answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/proxies/{appointment}/document"): scoped(
        answers(403, anon=401, **PROXY_SCAN_OPENERS(404)), answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/proxies/{appointment}/decision"): scoped(
        CONVENERS_404, answers(403, anon=401), body="proxy_decision"),
    ("POST", "/api/estates/{code}/meetings/{meeting}/proxy-logins/{login}/reissue"): scoped(
        CONVENERS_404, answers(403, anon=401)),
    # the proxy's own side: their one meeting only (no such motion or ballot: 404)
    ("GET", "/proxy/login"): one(every(200)),
    ("POST", "/proxy/login"): one(every(401), body="bad_proxy_login"),
    ("POST", "/api/proxy/login"): one(every(401), body="bad_proxy_login"),
    ("GET", "/proxy"): one(answers(403, anon=303, proxy=200)),
    ("GET", "/proxy/motions/{motion}"): one(answers(403, anon=303, proxy=404)),
    ("POST", "/proxy/motions/{motion}/vote"): one(answers(403, anon=401, proxy=404)),
    ("GET", "/proxy/motions/{motion}/ballots/{ballot}"): one(answers(403, anon=303, proxy=404)),
    ("GET", "/api/proxy/me"): one(answers(403, anon=401, proxy=200)),
    ("POST", "/api/proxy/motions/{motion}/ballots"): one(answers(403, anon=401, proxy=404), body="ballot"),
    ("GET", "/api/proxy/motions/{motion}/ballots/{ballot}/receipt"): one(answers(403, anon=401, proxy=404)),
    # the notice's posting in the estate: chair and members record it (404: no such meeting); readers see the photo
    ("POST", "/estate/{code}/meetings/{meeting}/posting"): scoped(CONVENERS_404, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/posting"): scoped(CONVENERS_404, answers(403, anon=401)),
    # legal holds: the committee (chair, members) and the street office record and release a case
    ("POST", "/api/estates/{code}/meetings/{meeting}/legal-holds"): scoped(
        answers(403, anon=401, committee_chair=404, committee_member=404, street_office=404), answers(403, anon=401),
        body="legal_hold"),
    ("POST", "/api/estates/{code}/meetings/{meeting}/legal-holds/{hold}/release"): scoped(
        answers(403, anon=401, committee_chair=404, committee_member=404, street_office=404), answers(403, anon=401),
        body="legal_hold"),
    ("GET", "/estate/{code}/meetings/{meeting}/posting/photo"): scoped({**READERS_404, ANON: 303},
                                                                       answers(403, anon=303)),
    # motion attachments: the committee adds and removes them on a draft (404: no such meeting); readers download
    ("POST", "/estate/{code}/meetings/{meeting}/motions/{motion}/attachments"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    ("POST", "/estate/{code}/meetings/{meeting}/motions/{motion}/attachments/{attachment}/remove"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/attachments/{attachment}"): scoped(
        {**READERS_404, ANON: 303}, answers(403, anon=303)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/attachments"): scoped(
        {**READERS_404, ANON: 401}, answers(403, anon=401)),
    ("POST", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/attachments"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    ("DELETE", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/attachments/{attachment}"): scoped(
        answers(403, anon=401, **DRAFTERS(404)), answers(403, anon=401)),
    # which units have voted, never how: committee, observers, residents' committee, street office
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/voted"): scoped(
        answers(403, anon=303, **VOTED_UNITS(404)), answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/map"): scoped(
        answers(403, anon=303, **VOTED_UNITS(404)), answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/motions/{motion}/voted.csv"): scoped(
        answers(403, anon=303, **VOTED_UNITS(404)), answers(403, anon=303)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/roll"): scoped(
        answers(403, anon=401, **VOTED_UNITS(404)), answers(403, anon=401)),
    # a tally file: observers, and owners where the meeting publishes per-unit results (the role is
    # checked once the meeting is found)
    ("GET", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/tally"): scoped(
        answers(404, anon=401, admin=403, proxy=403), answers(403, anon=401)),
    ("GET", "/api/estates/{code}/meetings/{meeting}/motions/{motion}/voted"): scoped(
        answers(403, anon=401, **VOTED_UNITS(404)), answers(403, anon=401)),
    # results and minutes of an announced meeting: every reader of results; per-unit lines: owners only
    ("GET", "/estate/{code}/meetings/{meeting}/results.pdf"): scoped({**READERS_404, ANON: 303}, answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/minutes.pdf"): scoped({**READERS_404, ANON: 303}, answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/results.csv"): scoped({**READERS_404, ANON: 303}, answers(403, anon=303)),
    ("GET", "/estate/{code}/meetings/{meeting}/units.csv"): scoped(answers(403, anon=303, owner=404),
                                                                   answers(403, anon=303)),
    # the residents' committee's notification records (and the street office's)
    ("GET", "/api/estates/{code}/notifications"): scoped(answers(403, anon=401, residents_committee=200,
                                                                 street_office=200), answers(403, anon=401)),
    ("POST", "/api/estates/{code}/notifications/{record}/acknowledge"): scoped(
        answers(403, anon=401, residents_committee=404, street_office=404), answers(403, anon=401)),
    ("GET", "/estate/{code}/notifications"): scoped(answers(403, anon=303, residents_committee=200, street_office=200),
                                                    answers(403, anon=303)),
    ("POST", "/estate/{code}/notifications/{record}/acknowledge"): scoped(
        answers(403, anon=401, residents_committee=404, street_office=404), answers(403, anon=401)),
    # scan-to-login for a shared screen: anyone may ask from a screen; only an owner confirms on the phone
    ("GET", "/screen"): one(every(200)),
    ("POST", "/screen/start"): one(every(303), fresh=True),  # fresh: the screen cookie stays with a throw-away client
    ("GET", "/screen/wait"): one(every(200)),
    ("GET", "/screen/status"): one(every(200)),
    ("POST", "/screen/claim"): one(every(404)),  # this browser showed no QR code
    ("GET", "/s/{token}"): one(every(404)),  # a card token is no screen-login token
    ("POST", "/s/{token}/confirm"): one(answers(403, anon=401, owner=404)),
    ("POST", "/s/{token}/cancel"): one(answers(403, anon=401, owner=404)),
}
# The static files are a mount, not a route: plain files, GET only, the same for everyone.


@dataclass
class Matrix:
    web: object
    kit: object
    secrets: dict[str, bytes] = field(default_factory=dict)
    clients: dict[str, object] = field(default_factory=dict)
    owner_pin: str = "480913"
    owner_token: str = ""
    proxy_code: str = ""
    proxy_tail: str = ""
    card_tokens: dict[str, str] = field(default_factory=dict)
    pools: dict[str, list] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    spare: dict[tuple[str, str], str] = field(default_factory=dict)  # an unused owner or card, per estate
    counter: itertools.count = field(default_factory=itertools.count)

    def ip(self, who: str) -> str:
        return f"10.8.{WHO.index(who)}.{next(self.counter) % 250 + 1}"

    def login(self, who: str):
        web = self.web
        client = web.client(ip=self.ip(who))
        if who == ANON:
            client.get("/login")
        elif who == OWNER:
            response = client.post(f"/api/cards/{self.owner_token}/login", json={"pin": self.owner_pin},
                                   headers={"X-CSRF-Token": self.kit.api_csrf(client)})
            assert response.status_code == 200, response.text
        elif who == PROXY:
            response = client.post("/api/proxy/login", json={"code": self.proxy_code, "id_tail": self.proxy_tail},
                                   headers={"X-CSRF-Token": self.kit.api_csrf(client)})
            assert response.status_code == 200, response.text
        else:
            body = {"username": f"m-{who.replace('_', '-')}", "password": self.kit.PASSWORD}
            if who in self.secrets:
                web.clock.advance(seconds=30)  # a fresh TOTP step for every login (codes are single-use)
                body["totp_code"] = totp.totp(self.secrets[who], web.clock.now)
            response = client.post("/api/auth/login", json=body, headers={"X-CSRF-Token": self.kit.api_csrf(client)})
            assert response.status_code == 200, response.text
        client.csrf = client.get("/api/auth/csrf").json()["csrf_token"]
        return client

    def client(self, who: str, *, fresh: bool):
        if fresh:
            self.clients.pop(who, None)  # logging out everywhere also ends the shared login
            return self.login(who)
        if who not in self.clients:
            self.clients[who] = self.login(who)
        return self.clients[who]


def _setup(databases, kit) -> Matrix:
    web = kit.make_web(databases.copy(), extra_owners=40)
    world = web.world
    m = Matrix(web, kit)
    with web.session() as session:
        for who in STAFF:
            account = kit.make_account(session, who, world, username=f"m-{who.replace('_', '-')}")
            if who in (SO, ADMIN):
                m.secrets[who] = kit.enrol_totp(session, account)
        rc = account_principal(session, get_account(session, "m-residents-committee"))
        beta_rc = account_principal(session, kit.make_account(session, Role.RESIDENTS_COMMITTEE, world,
                                                              username="m-beta-rc", estates=[world.beta.estate]))
        login_card = cards.issue_card(session, person=world.alpha.owners[0].person, issued_by=rc, now=web.clock.now)
        cards.set_first_pin(session, card=login_card.card, pin=m.owner_pin, ip=None, now=web.clock.now)
        m.owner_token = login_card.token
        for place, issuer, name in ((world.alpha, rc, OWN), (world.beta, beta_rc, OTHER)):
            # a card whose pages everyone opens (someone else's card: the token is all it takes)
            issued = cards.issue_card(session, person=place.owners[1].person, issued_by=issuer, now=web.clock.now)
            cards.set_first_pin(session, card=issued.card, pin="735190", ip=None, now=web.clock.now)
            m.card_tokens[name] = issued.token
            m.pools[name] = [owner.person.pseudonym for owner in place.owners[2:]]
        for place, name in ((world.alpha, OWN), (world.beta, OTHER)):
            target = kit.make_account(session, Role.OBSERVER, world, username=f"m-target-{name}",
                                      estates=[place.estate])
            m.targets[name] = target.username
        m.issuers = {OWN: rc, OTHER: beta_rc}
        m.proxy_code, m.proxy_tail = _proxy(session, kit, world, web.clock.now)
        for place in (world.alpha, world.beta):  # a signed checkpoint in each estate's log
            audit_service.sign(session, settings=web.app.state.settings, estate=session.get(Estate, place.estate.id))
    return m


def _proxy(session, kit, world, now) -> tuple[str, str]:
    """A published meeting of alpha whose confirmed authorisation gave a proxy their code."""
    from datetime import timedelta

    from assembly.config import get_settings
    from assembly.permissions import Principal
    from assembly.proxies import service as proxies
    from assembly.voting import meetings

    chair = account_principal(session, get_account(session, "m-committee-chair"))
    estate = session.get(Estate, world.alpha.estate.id)
    meeting = meetings.create_meeting(session, estate=estate, principal=chair, title="业主大会", now=now,
                                      closes_at=now + timedelta(days=40), motions=[meetings.MotionDraft(
                                          item=4, title="续聘物业", text="续聘三年")])
    meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=now)
    person = world.alpha.owners[0].person
    owner = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({estate.id}), person_id=person.id,
                      pseudonym=person.pseudonym)
    (held,) = proxies.owner_holdings(session, meeting=meeting, pseudonym=person.pseudonym)
    number = kit.id_number(900)
    appointment = proxies.appoint(session, meeting=meeting, principal=owner, member_key=held.member_key,
                                  proxy_name="代理人", proxy_id_number=number, document=b"%PDF-1.4 signed",
                                  id_key=get_settings().id_hash_key, now=now)
    decision = proxies.confirm(session, meeting=meeting, appointment=appointment, principal=chair, now=now)
    return decision.code, number[-4:]


@pytest.fixture(scope="module")
def matrix(databases, kit):
    return _setup(databases, kit)


def _spare_person(m: Matrix, variant: str) -> str:
    """An owner without a card yet, in the variant's estate; the same one until a request uses it up."""
    key = ("person", variant)
    if key not in m.spare:
        m.spare[key] = m.pools[variant].pop()
    return m.spare[key]


def _spare_card(m: Matrix, variant: str) -> str:
    """The number of a card in force in the variant's estate (reissue and revoke need one)."""
    key = ("card", variant)
    if key not in m.spare:
        with m.web.session() as session:
            from sqlalchemy import select

            from assembly.register.models import Person

            person = session.scalars(select(Person).where(Person.pseudonym == m.pools[variant].pop())).one()
            issuer = account_principal(session, get_account(session, "m-residents-committee" if variant == OWN
                                                              else "m-beta-rc"))
            m.spare[key] = cards.issue_card(session, person=person, issued_by=issuer, now=m.web.clock.now).card.number
    return m.spare[key]


def _request(m: Matrix, case: Case, path: str, variant: str, who: str) -> tuple[str, dict]:
    code = "alpha" if variant == OWN else "beta"
    values = {"code": code, "token": m.card_tokens[variant], "username": m.targets[variant],
              "meeting": "999999", "motion": "999999", "ballot": "999999", "record": "999999", "index": "0",
              "objection": "999999", "appointment": "999999", "login": "999999", "attachment": "999999", "designation": "999999",
              "entry": "999999", "hold": "999999"}
    if "{number}" in path:
        values["number"] = _spare_card(m, variant)
    url = re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)
    api = path.startswith("/api/")
    bodies = {
        "none": lambda: {},
        "bad_login": lambda: {"json" if api else "data": {"username": f"nobody-{who}", "password": "wrong-password"}},
        "totp": lambda: {"data": {"code": "000000"}},
        "totp_json": lambda: {"json": {"code": "000000"}},
        "bad_password_change": lambda: {"data": {"current": "not-my-password", "new": "x", "confirm": "x"}},
        "bad_pin_change": lambda: {"data": {"current": "000001", "new": "735190", "confirm": "735190"}},
        "activation": lambda: {"json": {"activation_code": "12345678", "id_tail": "0000", "pin": "735190"}} if api
        else {"data": {"activation_code": "12345678", "id_tail": "0000"}},
        "pin": lambda: {"data": {"pin": "735190", "pin_confirm": "735190"}},
        "empty_pin": lambda: {"json" if api else "data": {"pin": ""}},
        "person": lambda: {"json": {"person": _spare_person(m, variant)}},
        "reason": lambda: {"json": {"reason": "lost"}},
        "new_observer": lambda: {"json": {"username": f"made-{next(m.counter)}", "display_name": "观察员",
                                          "role": "observer", "estates": [code]}},
        "own_estates": lambda: {"json": {"estates": [code]}},
        "inclusion": lambda: {"params": {"index": 0, "size": 1}},
        "consistency": lambda: {"params": {"old": 1, "new": 1}},
        "meeting": lambda: {"json": {"title": "业主大会", "closes_at": "2027-06-01T00:00:00+08:00",
                                     "motions": [{"item": 4, "title": "续聘物业", "text": "续聘三年"}]}},
        "ballot": lambda: {"json": {"member": "owners:x", "choice": "agree", "idempotency_key": "k"}},
        "objection": lambda: {"json": {"member": "owners:x", "text": "这不是我投的票"}},
        "decision": lambda: {"json": {"decision": "upheld"}},
        "proxy_decision": lambda: {"json": {"decision": "confirmed"}},
        "legal_hold": lambda: {"json": {"reason": "（2026）京0105民初1号"}},
        "bad_proxy_login": lambda: {"json" if api else "data": {"code": "AAAA-BBBB-CCCC-DDDD",
                                                                "id_tail": "0000"}},
        "print": lambda: {"data": {"person": [_spare_person(m, variant)], "mode": "checked"}},  # reprints reissue
        "pickup": lambda: {"data": {"pickup": "dl_forged"}},
        "print_json": lambda: {"json": {"persons": [_spare_person(m, variant)]}},
    }
    return url, bodies[case.body]()


def test_every_route_has_an_entry_and_every_entry_a_route(web, kit):
    routes = {(method, path) for path, methods in kit.flat_routes(web.app.routes) for method in methods}
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, f"routes without an access-matrix entry (add them to EXPECTED): {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED), ids=lambda value: value)
def test_access(matrix, method, path):
    case = EXPECTED[(method, path)]
    wrong = []
    for variant in case.variants:
        for who in WHO:
            client = matrix.client(who, fresh=case.fresh)
            url, body = _request(matrix, case, path, variant, who)
            headers = {"X-CSRF-Token": client.csrf} if method != "GET" else {}
            response = client.request(method, url, headers=headers, **body)
            expected = case.expect[variant][who]
            if response.status_code < 300:  # the spare owner or card was used up
                m_keys = [("person", variant)] if case.body == "person" else [("card", variant)] if "{number}" in path \
                    else []
                for key in m_keys:
                    matrix.spare.pop(key, None)
            if response.status_code != expected:
                wrong.append(f"{who} {variant}: {response.status_code} (expected {expected}) {response.text[:120]!r}")
            if response.status_code == 303 and expected == 303 and who != ANON and "/login" in response.headers.get(
                    "location", "") and path not in ("/login/totp",) and not path.startswith("/logout"):
                wrong.append(f"{who} {variant}: sent to log in although logged in")
    assert not wrong, "\n".join(wrong)
