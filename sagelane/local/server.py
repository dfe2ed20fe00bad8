"""The embedded AWS as a server: moto on a loopback port, provisioned from the cloud assembly.

Everything runs in this process: moto's server thread answers the AWS APIs (for this process's own
clients and for any other program pointed at the endpoint: ``aws --endpoint-url``, boto3 with
``AWS_ENDPOINT_URL``), Step Functions executions run moto's interpreter, Lambda tasks run the real
handlers in-process, and a pump thread delivers the EventBridge events moto matched.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from sagelane import aws
from sagelane.errors import SageLaneError
from sagelane.local.cloud import MOTO_CONFIG, LocalCloud
from sagelane.local.provision import Summary

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

log = logging.getLogger("sagelane.local")

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sagelane-local", "AWS_SECRET_ACCESS_KEY": "sagelane-local"}


class EmbeddedAWS:
    def __init__(
        self,
        assembly: Path,
        *,
        stacks: list[str],
        port: int = 0,
        region: str = "us-east-1",
        pump_interval: float = 0.1,
        log_dir: Path | None = None,
        enforce: bool = True,
    ) -> None:
        self.log_dir = log_dir
        self.enforce = enforce  # IAM and request validation (sagelane.local.gate); off only to debug
        self.assembly = assembly
        self.stack_names = stacks
        self.requested_port = port
        self.region = region
        self.pump_interval = pump_interval
        self.endpoint = ""
        self.cloud: LocalCloud | None = None
        self.summary: Summary | None = None
        self._server: ThreadedMotoServer | None = None
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> EmbeddedAWS:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        for service, settings in MOTO_CONFIG.items():
            default_user_config.setdefault(service, {}).update(settings)  # type: ignore[misc]  # moto types its config as a TypedDict
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        # moto logs every Fail state as an error; here a failed run is an outcome, reported as such
        logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.requested_port, verbose=False)
        self._check_port()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._reset()  # moto's backends live in the process: start from an empty cloud
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "MOTO_PORT": str(port),  # where moto's Step Functions interpreter sends its own calls
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                **{k: v for k, v in LOCAL_CREDENTIALS.items() if not os.environ.get(k)},
            }
        )
        boto3.DEFAULT_SESSION = None
        aws.reset()
        self.cloud = LocalCloud(
            self.assembly, stacks=self.stack_names, region=self.region, log_dir=self.log_dir, enforce=self.enforce
        )
        self.summary = self.cloud.up()
        self._pump = threading.Thread(target=self._pump_forever, name="sagelane-event-pump", daemon=True)
        self._pump.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._pump is not None:
            self._pump.join(timeout=5)
        if self.cloud is not None:
            self.cloud.down()
        if self._server is not None:
            self._reset()
            self._server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        boto3.DEFAULT_SESSION = None
        aws.reset()

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _check_port(self) -> None:
        if self.requested_port == 0:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", self.requested_port)) == 0:
                raise SageLaneError(
                    f"port {self.requested_port} is in use (another embedded AWS?): stop it with "
                    "`sagelane local down`, or pick another port with --port"
                )

    def _reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _pump_forever(self) -> None:
        assert self.cloud is not None
        while not self._stop.wait(self.pump_interval):
            try:
                self.cloud.pump()
            except Exception:  # keep delivering: one bad event must not stop the embedded AWS
                log.exception("event delivery failed")
