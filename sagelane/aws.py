"""boto3 clients, created lazily (never at import time) and shared within a process.

Against the embedded AWS (``AWS_ENDPOINT_URL`` on loopback, as ``sagelane local up`` prints it) the
clients need no real credentials: placeholders are used when none are configured, so nothing can reach
a real account by accident.
"""

from __future__ import annotations

import os
import threading
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
    env = os.environ
    credentials = {name: env[name] for name in _CREDENTIALS if env.get(name)}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if local_endpoint():
        if "AWS_ACCESS_KEY_ID" not in credentials and _session().get_credentials() is None:
            credentials = {"AWS_ACCESS_KEY_ID": "sagelane-local", "AWS_SECRET_ACCESS_KEY": "sagelane-local"}
        region = region or _session().region_name or LOCAL_REGION
    # the endpoint is botocore's to read from this environment (AWS_ENDPOINT_URL[_<SERVICE>]); it keys the cache
    return client_as(service, credentials, region=region, config=_CONFIG, key=env.get("AWS_ENDPOINT_URL"))


def client_as(
    service: str,
    credentials: dict[str, str],
    *,
    region: str | None,
    config: Config,
    endpoint_url: str | None = None,
    key: Any = None,
) -> Any:
    """A shared client of ``service`` signing with ``credentials`` (the ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` environment of a principal; empty: the default
    chain). Clients are made from one session, one at a time, so each service's API model is parsed once
    (a session of its own parses it again: ~0.25 s for SageMaker, for every role where IAM is enforced);
    made clients are thread-safe. ``config`` should be a constant: it is part of the cache key."""
    ident = (service, tuple(sorted(credentials.items())), region, id(config), endpoint_url, key)
    made = _CLIENTS.get(ident)
    if made is None:
        with _LOCK:  # a botocore session is not thread-safe
            made = _CLIENTS.get(ident)
            if made is None:
                kwargs: dict[str, Any] = {"region_name": region, "config": config}
                if endpoint_url:
                    kwargs["endpoint_url"] = endpoint_url
                if credentials.get("AWS_ACCESS_KEY_ID"):
                    kwargs.update(
                        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=credentials.get("AWS_SECRET_ACCESS_KEY"),
                        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
                    )
                made = _CLIENTS[ident] = _session_unlocked().client(service, **kwargs)
    return made


_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_LOCK = threading.RLock()
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_SESSIONS: list[boto3.session.Session] = []


def _session_unlocked() -> boto3.session.Session:
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def _session() -> boto3.session.Session:
    with _LOCK:
        return _session_unlocked()


def reset() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    with _LOCK:
        _CLIENTS.clear()
        _SESSIONS.clear()
