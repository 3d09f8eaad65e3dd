"""Error and waiting pages written for people: what happened, what to do next, whom to call."""

from __future__ import annotations

import pytest

from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import load_demo


@pytest.fixture
def demo_client(client, engine_copy):
    with unit_of_work(engine_copy) as session:
        load_demo(session, id_key=get_settings().id_hash_key)
    return client


def test_a_404_inside_an_estate_names_its_committee_contact(demo_client):
    response = demo_client.get("/estate/demo/no-such-page")
    assert response.status_code == 404
    assert "找不到页面" in response.text and "接下来可以这样做" in response.text
    assert "010-6400 0000" in response.text  # the demo estate's committee_contact


def test_a_404_without_an_estate_says_whom_to_ask_in_general(demo_client):
    response = demo_client.get("/estate/no-such-estate")
    assert response.status_code == 404
    assert "请联系您所在小区的业主委员会" in response.text and "Traceback" not in response.text


def test_a_stale_form_is_explained_as_an_expired_page(demo_client):
    response = demo_client.post("/login", data={"username": "x", "password": "y", "csrf_token": "wrong"})
    assert response.status_code == 403
    assert "页面已过期" in response.text and "刷新页面后再提交一次" in response.text


def test_a_cookie_that_no_longer_works_leads_to_the_login_page_saying_so(demo_client):
    from assembly.auth.web import session_cookie_name

    demo_client.cookies.set(session_cookie_name(get_settings()), "s-" + "x" * 43)
    response = demo_client.get("/me", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/me&expired=1"
    page = demo_client.get(response.headers["location"])
    assert "您的登录已过期" in page.text


def test_without_a_cookie_the_login_page_does_not_speak_of_expiry(demo_client):
    response = demo_client.get("/me", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/me"
    assert "您的登录已过期" not in demo_client.get("/login?next=/me").text



def test_too_many_attempts_says_when_to_try_again_in_minutes():
    from assembly.web.templating import templates

    page = templates().get_template("pages/error.html").render(
        request=None, status=429, code="throttled", message="尝试次数太多 / too many", detail={"retry_after": 61},
        estate=None, csrf_token="")
    assert "尝试次数太多" in page and "请在 2 分钟后再试" in page and "retry_after" not in page


def test_our_own_failure_tells_the_voter_nothing_is_lost_and_whom_to_call(demo_client):
    from types import SimpleNamespace

    from assembly.web.templating import templates

    estate = SimpleNamespace(name="和谐家园（示范小区）", committee_contact="电话 010-6400 0000")
    page = templates().get_template("pages/error.html").render(
        request=None, status=500, code="internal", message="系统出了问题 / something went wrong", detail=None,
        estate=estate, csrf_token="")
    assert "这不是您的操作问题" in page and "不会丢失" in page and "电话 010-6400 0000" in page
