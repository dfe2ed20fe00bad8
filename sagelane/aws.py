"""boto3 clients, created lazily (never at import time) and shared within a process.

Against the embedded AWS (``AWS_ENDPOINT_URL`` on loopback, as ``sagelane local up`` prints it) the
clients need no real credentials: placeholders are used when none are configured, so nothing can reach
a real account by accident.
"""

from __future__ import annotations

import functools
import os
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, user_agent_appid="sagelane")
LOCAL_REGION = "us-east-1"


def local_endpoint() -> str | None:
    """The endpoint when it is the embedded AWS (loopback), else None."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urlparse(endpoint).hostname or ""
    return endpoint if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.") else None


def client(service: str) -> Any:
    """A shared client of ``service`` for the credentials in this thread's environment (an in-process
    Lambda handler of the embedded AWS runs with its role's, as the Lambda runtime gives them)."""
    return _client(service, os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def _client(service: str, access_key: str | None, endpoint: str | None) -> Any:
    session = boto3.session.Session()  # one per client: botocore sessions are not thread-safe
    kwargs: dict[str, Any] = {}
    if local_endpoint():
        if session.get_credentials() is None:
            kwargs.update(aws_access_key_id="sagelane-local", aws_secret_access_key="sagelane-local")
        if session.region_name is None:
            kwargs["region_name"] = LOCAL_REGION
    return session.client(service, config=_CONFIG, **kwargs)


def reset() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    _client.cache_clear()
