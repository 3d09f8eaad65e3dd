"""The OpenAPI description says what the answers are (issue #22, item 7); the whole check, by
schemathesis as each role, is tests/auth/test_api_conformance.py. These pin the pieces it found."""

from __future__ import annotations


def _operations(client):
    return client.get("/api/openapi.json").json()["paths"]


def test_every_api_error_is_described_as_the_error_body(client):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in _operations(client).items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "413", "422", "429"):
                # outside /api/ people are answered with a page when they do not ask for JSON
                expected = error if path.startswith("/api/") else error | {"text/html": {"schema": {"type": "string"}}}
                assert operation["responses"][status]["content"] == expected, f"{method} {path} {status}"


def test_an_error_on_a_text_route_is_json_and_described_so(client):
    described = _operations(client)["/api/estates/{code}/checkpoint"]["get"]["responses"]["404"]["content"]
    response = client.get("/api/estates/nowhere/checkpoint")
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    assert list(described) == ["application/json"]


def test_the_export_is_described_as_a_zip(client):
    answer = _operations(client)["/api/estates/{code}/audit/export"]["get"]["responses"]["200"]
    assert list(answer["content"]) == ["application/zip"]


def test_the_bounds_of_the_audit_parameters_are_described(client):
    operations = _operations(client)
    entries = {p["name"]: p["schema"] for p in operations["/api/estates/{code}/audit/entries"]["get"]["parameters"]}
    assert entries["limit"]["minimum"] == 1 and entries["limit"]["maximum"] == 1000
    assert entries["start"]["minimum"] == 0
    receipt = operations["/api/estates/{code}/audit/receipt/{index}"]["get"]["parameters"]
    assert next(p for p in receipt if p["name"] == "index")["schema"]["minimum"] == 0


def test_a_wrong_method_says_which_are_allowed(client):
    response = client.delete("/api/me", headers={"X-CSRF-Token": "x"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"
