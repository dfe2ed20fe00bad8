"""The kit's own data capture, for endpoints SageMaker's data capture does not cover (serverless).

It writes what SageMaker data capture writes — JSON Lines, one line per request, with the input, the
output and ``eventMetadata`` (``eventId``, ``inferenceId``, ``inferenceTime``) — under
``<SAGELANE_CAPTURE_S3_URI>/yyyy/mm/dd/hh/<uuid>.jsonl``, so the drift and quality checks read both
alike. The deploy workflow sets the container's environment:

- ``SAGELANE_CAPTURE_S3_URI``: ``s3://<artifacts>/capture/<model>/<endpoint>/<variant>``;
- ``SAGELANE_CAPTURE_PERCENT``: the share of requests kept (1-100);
- ``SAGELANE_CAPTURE_KMS_KEY``: the key the objects are encrypted with (SSE-KMS).

Lines are buffered and written as one object when ``max_lines`` are buffered or the oldest is
``max_seconds`` old — checked on every request and by a background timer — and at exit. The write runs
on a background thread, so a request never waits for S3, and capture never fails a request: an object
that cannot be written is logged and its lines counted in ``dropped``. A serverless container can be
frozen between requests and reclaimed without notice, so up to ``max_seconds`` of the last lines before
a reclaim can be lost; monitoring reads samples, and tolerates that.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

URI, PERCENT, KMS_KEY = "SAGELANE_CAPTURE_S3_URI", "SAGELANE_CAPTURE_PERCENT", "SAGELANE_CAPTURE_KMS_KEY"


def line(
    body: bytes,
    content_type: str,
    output: bytes,
    accept: str,
    *,
    event_id: str,
    inference_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """One capture line in SageMaker's format (text kept as text, anything else base64)."""

    def part(data: bytes, observed: str, mode: str) -> dict[str, Any]:
        kind = observed.split(";")[0].strip()
        try:
            text, encoding = data.decode("utf-8"), ("CSV" if kind == "text/csv" else "JSON")
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(data).decode(), "BASE64"
        return {"observedContentType": observed, "mode": mode, "data": text, "encoding": encoding}

    metadata = {"eventId": event_id, "inferenceTime": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": part(body, content_type, "INPUT"),
                "endpointOutput": part(output, accept, "OUTPUT"),
            },
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
    )


class Capture:
    def __init__(
        self,
        uri: str,
        percent: float = 100.0,
        kms_key: str | None = None,
        *,
        max_lines: int = 1000,
        max_seconds: float = 60.0,
        client: Any = None,
    ) -> None:
        if not uri.startswith("s3://") or "/" not in uri[5:].strip("/"):
            raise ValueError(f"{URI} must be s3://bucket/prefix, got {uri!r}")
        if not 0 < percent <= 100:
            raise ValueError(f"{PERCENT} must be in (0, 100], got {percent}")
        self.bucket, _, prefix = uri[5:].partition("/")
        self.prefix = prefix.strip("/")
        self.percent, self.kms_key = percent, kms_key
        self.max_lines, self.max_seconds = max_lines, max_seconds
        self._client = client
        self._lines: list[str] = []
        self._oldest = 0.0
        self._seen = 0
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sagelane-capture")
        self._stop = threading.Event()
        self.written = self.dropped = 0
        threading.Thread(target=self._tick, name="sagelane-capture-timer", daemon=True).start()
        atexit.register(self.close)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Capture | None:
        """The capture the container's environment asks for, or None when it asks for none."""
        environ = dict(os.environ) if environ is None else environ
        uri = environ.get(URI)
        if not uri:
            return None
        return cls(uri, float(environ.get(PERCENT) or 100), environ.get(KMS_KEY) or None)

    def record(
        self, body: bytes, content_type: str, output: bytes, accept: str, inference_id: str | None = None
    ) -> None:
        """Keep this request (if it is in the sample)."""
        with self._lock:
            self._seen += 1
            if int(self._seen * self.percent / 100) == int((self._seen - 1) * self.percent / 100):
                return  # not in the sample: every (100 / percent)-th request is kept
            entry = line(body, content_type, output, accept, event_id=str(uuid.uuid4()), inference_id=inference_id)
            if not self._lines:
                self._oldest = time.monotonic()
            self._lines.append(entry)
            due = len(self._lines) >= self.max_lines or time.monotonic() - self._oldest >= self.max_seconds
        if due:
            self.flush(wait=False)

    def flush(self, *, wait: bool = True) -> None:
        """Write what is buffered: on the background writer's thread, or (``wait``) on the caller's once
        the writes handed over before are done."""
        with self._lock:
            lines, self._lines = self._lines, []
        if wait:  # one writer thread: a no-op done means the writes handed over before are done
            with contextlib.suppress(RuntimeError):  # shut down: nothing is pending
                self._writer.submit(lambda: None).result()
        if not lines:
            return
        if not wait:
            try:
                self._writer.submit(self._write, lines)
                return
            except RuntimeError:  # the interpreter is shutting down: no new background work
                pass
        self._write(lines)

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._writer.shutdown(wait=True)  # writes already handed over finish first
            self.flush()

    def _tick(self) -> None:
        while not self._stop.wait(min(self.max_seconds, 5.0)):
            with self._lock:
                due = bool(self._lines) and time.monotonic() - self._oldest >= self.max_seconds
            if due:
                self.flush(wait=False)

    def _write(self, lines: list[str]) -> None:
        now = datetime.now(UTC)
        key = f"{self.prefix}/{now:%Y/%m/%d/%H}/{now:%M-%S}-{uuid.uuid4().hex}.jsonl"
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key} if self.kms_key else {}
        try:
            if self._client is None:
                import boto3

                self._client = boto3.client("s3")
            self._client.put_object(Bucket=self.bucket, Key=key, Body=("\n".join(lines) + "\n").encode(), **extra)
            self.written += len(lines)
        except Exception:  # capture must never take the endpoint down
            self.dropped += len(lines)
            log.exception("data capture: could not write %d lines to s3://%s/%s", len(lines), self.bucket, key)
