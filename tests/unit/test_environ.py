"""A thread's own environment variables (sagelane.environ), and the in-process Lambdas that rely on them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from sagelane.environ import thread_environment
from sagelane.local.lambdas import LocalFunction, LocalLambda


def in_thread(read):
    seen: list = []
    worker = threading.Thread(target=lambda: seen.append(read()))
    worker.start()
    worker.join()
    return seen[0]


def test_the_layer_is_seen_by_its_thread_only_and_leaves_the_process_environment_alone(monkeypatch):
    monkeypatch.setenv("SAGELANE_T_SHARED", "process")
    monkeypatch.delenv("SAGELANE_T_OWN", raising=False)
    with thread_environment({"SAGELANE_T_OWN": "mine", "SAGELANE_T_SHARED": "layer"}):
        assert os.environ["SAGELANE_T_OWN"] == "mine" and os.getenv("SAGELANE_T_SHARED") == "layer"
        assert dict(os.environ)["SAGELANE_T_OWN"] == "mine" and "SAGELANE_T_OWN" in os.environ.copy()
        assert in_thread(lambda: (os.getenv("SAGELANE_T_OWN"), os.environ["SAGELANE_T_SHARED"])) == (None, "process")
        # what the code sets or deletes stays in its layer
        os.environ["SAGELANE_T_SET"] = "x"
        del os.environ["SAGELANE_T_SHARED"]
        assert "SAGELANE_T_SHARED" not in os.environ and os.environ["SAGELANE_T_SET"] == "x"
        with pytest.raises(KeyError):
            del os.environ["SAGELANE_T_SHARED"]
        with pytest.raises(TypeError):
            os.environ["SAGELANE_T_SET"] = 1  # type: ignore[assignment]
        with thread_environment({"SAGELANE_T_INNER": "1"}):  # nests over the outer layer
            assert os.environ["SAGELANE_T_INNER"] == "1" and os.environ["SAGELANE_T_OWN"] == "mine"
        assert "SAGELANE_T_INNER" not in os.environ
        assert in_thread(lambda: os.environ.get("SAGELANE_T_SHARED")) == "process"
    assert os.environ["SAGELANE_T_SHARED"] == "process"
    assert not {"SAGELANE_T_OWN", "SAGELANE_T_SET", "SAGELANE_T_INNER"} & set(os.environ)


def test_without_a_layer_changes_reach_the_process_as_before(monkeypatch):
    with thread_environment({}):
        pass  # the layered mapping is in place from here on
    monkeypatch.setenv("SAGELANE_T_CHILD", "seen")
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['SAGELANE_T_CHILD'])"], capture_output=True, text=True
    )
    assert child.stdout.strip() == "seen"
    monkeypatch.delenv("SAGELANE_T_CHILD")
    assert in_thread(lambda: os.getenv("SAGELANE_T_CHILD")) is None


def test_other_threads_read_the_environment_safely_while_lambdas_run(tmp_path):
    """Found under the 200-file burst: a Step Functions thread building a client (botocore reads the proxy
    settings, walking os.environ) failed with KeyError on a variable a Lambda invocation had just removed."""
    (tmp_path / "handler.py").write_text(
        "import os\n\ndef lambda_handler(event, context):\n    return os.environ['POWERTOOLS_SERVICE_NAME']\n"
    )
    variables = {"POWERTOOLS_SERVICE_NAME": "sagelane-t", **{f"SAGELANE_T_{i}": str(i) for i in range(20)}}
    fn = LocalFunction(
        "t",
        "arn:aws:lambda:us-east-1:123456789012:function:t",
        tmp_path,
        "handler.lambda_handler",
        variables,
        timeout_s=60,
    )
    lambdas = LocalLambda()
    lambdas.active = True  # answering invoke() directly, without the botocore hook
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race showed at once like this
    done = threading.Event()
    results: list = []

    def invoke_until_done() -> None:
        while not done.is_set():
            results.append(lambdas.invoke(fn, {}))

    worker = threading.Thread(target=invoke_until_done)
    worker.start()
    failures = []
    reads = 0
    deadline = time.monotonic() + 3  # the race showed in well under a second before the fix
    try:
        while time.monotonic() < deadline:
            reads += 1
            try:
                urllib.request.getproxies()
            except KeyError as exc:
                failures.append(exc)
    finally:
        done.set()
        worker.join()
        sys.setswitchinterval(previous)
    assert not failures, f"{len(failures)} of {reads} reads failed: {failures[:3]}"
    assert reads >= 10  # before the fix, nearly every read failed
    assert results and all(r == ("sagelane-t", None) for r in results)
    assert "POWERTOOLS_SERVICE_NAME" not in os.environ or os.environ["POWERTOOLS_SERVICE_NAME"] != "sagelane-t"
