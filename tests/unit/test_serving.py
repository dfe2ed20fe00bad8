"""The SageMaker container contract served on loopback: /ping, /invocations, client errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from sagelane.samples import PENGUIN_EXAMPLES

RECORD = PENGUIN_EXAMPLES[0]


def call(url: str, path: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(
        url + path, data=body, method="POST" if body is not None else "GET", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ping_and_predictions_in_json_and_csv(endpoint):
    assert call(endpoint, "/ping") == (200, {"status": "healthy"})
    status, body = call(endpoint, "/invocations", json.dumps(PENGUIN_EXAMPLES).encode())
    assert status == 200 and [p["prediction"] for p in body] == ["Gentoo", "Adelie", "Chinstrap"]
    csv = (",".join(RECORD) + "\n" + ",".join(str(v) for v in RECORD.values()) + "\n").encode()
    status, body = call(endpoint, "/invocations", csv, "text/csv")
    assert status == 200 and body[0]["prediction"] == "Gentoo"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{broken", "application/json", 400, "not valid JSON"),
        (json.dumps({**RECORD, "island": "Mars"}).encode(), "application/json", 400, "field 'island' must be one of"),
        (
            json.dumps({k: v for k, v in RECORD.items() if k != "sex"}).encode(),
            "application/json",
            400,
            "missing field 'sex'",
        ),
        (b"<a/>", "application/xml", 415, "unsupported content type"),
    ],
)
def test_bad_requests_are_client_errors_and_the_endpoint_keeps_serving(endpoint, body, content_type, status, message):
    code, error = call(endpoint, "/invocations", body, content_type)
    assert code == status and message in error["error"]
    assert call(endpoint, "/invocations", json.dumps(RECORD).encode())[0] == 200


def test_unknown_routes_are_404(endpoint):
    assert call(endpoint, "/predict", b"{}")[0] == 404
    assert call(endpoint, "/health")[0] == 404
