"""The web layer: security headers everywhere, errors as Chinese pages or JSON with a code, never a trace."""

from __future__ import annotations

import pytest

from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import load_demo


@pytest.fixture
def demo_client(client, engine_copy):
    from assembly.jobs import run_all_due
    from assembly.models import utcnow

    with unit_of_work(engine_copy) as session:
        load_demo(session, id_key=get_settings().id_hash_key)
    run_all_due(engine_copy, get_settings(), utcnow())  # the minute job signs the first checkpoint
    return client


def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/healthz", "/static/css/assembly.css", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_front_page_without_estates_says_what_to_do(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "assembly demo" in response.text


def test_estate_page_shows_the_denominators(demo_client):
    response = demo_client.get("/estate/demo")
    assert response.status_code == 200
    assert "和谐家园" in response.text and "2000" in response.text
    assert response.headers["vary"].startswith("HX-Request")


def test_unknown_estate_page_is_a_chinese_404(client):
    response = client.get("/estate/nowhere")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "找不到页面" in response.text


def test_api_errors_are_json_with_a_stable_code(client):
    response = client.get("/api/estates/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "estate_not_found"
    missing = client.get("/api/no-such-endpoint")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_api_summary_is_exact_and_aggregate_only(demo_client):
    body = demo_client.get("/api/estates/demo").json()
    assert body["units"] == 2000 and body["version"] == 1
    assert "." in body["total_area"] or body["total_area"].isdigit()
    assert set(body) == {"estate", "name", "version", "units", "members", "total_area", "ancillary_units",
                         "ancillary_rule"}  # still aggregates: how many parking spaces, and the estate's rule
    assert body["ancillary_units"] == 0 and body["ancillary_rule"] == {"counted": None, "reason": "", "set_at": None}


def test_wrong_method_is_not_a_500(client):
    response = client.post("/healthz")
    assert response.status_code == 405


def test_no_cdn_anywhere_in_pages(demo_client):
    for path in ("/", "/estate/demo"):
        text = demo_client.get(path).text
        assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text


def test_estate_page_publishes_the_log_key_and_checkpoint_endpoint_serves_the_note(demo_client):
    from assembly.audit.checkpoint import open_checkpoint
    from assembly.audit.verifiers import new_verifier

    keys = demo_client.get("/api/estates/demo/keys").text.splitlines()
    assert keys and keys[0].split("+")[0].endswith("/estate/demo")
    page = demo_client.get("/estate/demo").text
    assert keys[0] in page
    response = demo_client.get("/api/estates/demo/checkpoint")
    assert response.status_code == 200
    checkpoint, _ = open_checkpoint(response.text, new_verifier(keys[0]))
    assert checkpoint.size >= 1  # the demo's register version at least


def test_checkpoint_of_an_unknown_estate_is_a_json_404(client):
    response = client.get("/api/estates/nowhere/checkpoint")
    assert response.status_code == 404 and response.json()["error"]["code"] == "estate_not_found"
