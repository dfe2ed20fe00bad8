"""A bounded loopback load on ``sagelane local serve`` with errors injected: bad requests, abandoned
connections. Every good request is answered correctly, every bad one is a 4xx naming the problem, nothing is a
5xx, and the server still answers afterwards. The latency figures are printed, not asserted (bench/ has them)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from sagelane.samples import PENGUIN_EXAMPLES

REQUESTS = 600
CLIENTS = 8
BAD = [
    (b"{broken", "application/json", 400),
    (json.dumps({**PENGUIN_EXAMPLES[0], "island": "Mars"}).encode(), "application/json", 400),
    (json.dumps({k: v for k, v in PENGUIN_EXAMPLES[0].items() if k != "sex"}).encode(), "application/json", 400),
    (b"<a/>", "application/xml", 415),
]


@pytest.fixture(scope="module")
def local_serve(root, penguins_model_dir):
    """``sagelane local serve`` in its own process, on a free loopback port."""
    command = [sys.executable, "-m", "sagelane.cli", "local", "serve", "penguins-species", "--model-dir"]
    process = subprocess.Popen(
        [*command, str(penguins_model_dir), "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    url = None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line or process.poll() is None, "local serve exited before it was ready"
        if match := re.search(r"ready at (http://[\d.]+:\d+)", line):
            url = match.group(1)
    assert url, "local serve did not say it was ready"
    yield url
    process.terminate()
    process.wait(timeout=10)


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict, float]:
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": content_type})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, json.loads(exc.read())
    return status, payload, time.perf_counter() - started


def abandon(url: str) -> None:
    """Announce a body, send half of it, hang up: the server must shrug it off."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        conn.sendall(b'Content-Length: 1000\r\n\r\n{"island": ')


def test_a_bounded_load_with_bad_requests_and_dropped_connections(local_serve):
    # every tenth request is bad (rotating through the kinds), every fiftieth connection is abandoned
    good_body = json.dumps(PENGUIN_EXAMPLES).encode()
    first, _, _ = post(local_serve, good_body, "application/json")
    assert first == 200

    def one(i: int) -> tuple[str, int, dict, float]:
        if i % 50 == 25:
            abandon(local_serve)
            return "abandoned", 0, {}, 0.0
        if i % 10 == 5:
            body, content_type, _ = BAD[(i // 10) % len(BAD)]
            return ("bad", *post(local_serve, body, content_type))
        return ("good", *post(local_serve, good_body, "application/json"))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(one, range(REQUESTS)))
    seconds = time.perf_counter() - started

    good = [r for r in results if r[0] == "good"]
    bad = [r for r in results if r[0] == "bad"]
    assert len(good) + len(bad) + sum(r[0] == "abandoned" for r in results) == REQUESTS
    predictions = {(r[1], tuple(p["prediction"] for p in r[2])) for r in good}
    assert predictions == {(200, ("Gentoo", "Adelie", "Chinstrap"))}, predictions
    assert sorted({r[1] for r in bad}) == [400, 415]
    assert all(r[2].get("error") for r in bad)
    assert not [r for r in results if r[1] >= 500]
    # and it still answers
    assert post(local_serve, good_body, "application/json")[0] == 200
    latencies = sorted(r[3] for r in good)
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(
        f"\nlocal serve: {REQUESTS} requests by {CLIENTS} clients in {seconds:.2f} s "
        f"({REQUESTS / seconds:.0f}/s); good p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
