"""Bounded loopback load test of the served model (`sagelane local serve`'s container contract).

Starts the server in this process on 127.0.0.1 (an ephemeral port), then N client threads send a fixed
number of requests each — valid ones, with a share of malformed ones mixed in (they must get 4xx and
leave the server serving). Prints requests/s, p50 / p99 latency and the status counts. Loopback only,
bounded in count and time.

Usage: .venv/bin/python bench/bench_serve.py [--threads 4] [--requests 2000] [--bad-share 0.1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sagelane.config import load_project  # noqa: E402
from sagelane.samples import PENGUIN_EXAMPLES  # noqa: E402
from sagelane.serving.container import load, serve_in_thread  # noqa: E402
from sagelane.training.local import run_training  # noqa: E402
from sagelane.training.prepare import split, write_channels  # noqa: E402
from sagelane.validation import validate_file  # noqa: E402

GOOD = json.dumps(PENGUIN_EXAMPLES[0]).encode()
BAD = [b"{broken", json.dumps({"island": "Mars"}).encode()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000, help="in total (bounded)")
    parser.add_argument("--bad-share", type=float, default=0.1)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()
    project = load_project("dev", ROOT)
    contract = project.contract("penguins")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = write_channels(
            split(validate_file(ROOT / "samples" / "penguins.csv", contract).frame, contract), contract, Path(tmp) / "c"
        )
        result = run_training(
            source_dir=ROOT / "training",
            hyperparameters={"algorithm": "logistic_regression"},
            channels={n: prepared.channel(n) for n in ("train", "validation", "test", "contract")},
            work_dir=Path(tmp) / "job",
        )
        server, url = serve_in_thread(load(result.model_dir, ROOT / "training"))
        host, port = url.removeprefix("http://").split(":")
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds
        per_thread = args.requests // args.threads

        def client(seed: int) -> None:
            rng = random.Random(seed)
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            mine, codes = [], Counter()
            for _ in range(per_thread):
                if time.monotonic() > deadline:
                    break
                body = rng.choice(BAD) if rng.random() < args.bad_share else GOOD
                started = time.perf_counter()
                connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                codes[response.status] += 1
            connection.close()
            with lock:
                latencies.extend(mine)
                statuses.update(codes)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        server.shutdown()
    latencies.sort()
    n = len(latencies)
    print(
        f"loopback load test — {args.threads} client threads, {n} requests ({args.bad_share:.0%} malformed), "
        f"server and clients in one process on 2 cores"
    )
    print(
        f"throughput {n / seconds:,.0f} requests/s · p50 {latencies[n // 2] * 1000:.2f} ms · "
        f"p99 {latencies[int(n * 0.99)] * 1000:.2f} ms · statuses {dict(sorted(statuses.items()))}"
    )
    return 0 if set(statuses) <= {200, 400} else 1


if __name__ == "__main__":
    sys.exit(main())
