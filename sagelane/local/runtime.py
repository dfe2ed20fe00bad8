"""``sagelane local up`` / ``down`` and the synthesis they start from."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from sagelane.config import find_root, load_project
from sagelane.errors import SageLaneError
from sagelane.foreground import wait_until_stopped
from sagelane.local.assembly import load_assembly
from sagelane.local.server import EmbeddedAWS

STATE_FILE = "local.json"


def synthesize(env: str, outdir: Path, root: Path | None = None) -> Path:
    """Synthesize the app for ``env`` into ``outdir`` (in-process: cdk.json's context, cdk-nag included)."""
    root = root or find_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # the CDK app's packages (stacks/, step_functions/) live in the repo
    # jsii prints a banner at start under an end-of-life Node unless told which majors to hush
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,19,20,21,23")
    from stacks.app import build_app

    context = json.loads((root / "cdk.json").read_text())["context"]
    try:
        build_app(load_project(env, root), outdir=str(outdir), context=context).synth()
    except RuntimeError as exc:  # jsii surfaces synth errors (cdk-nag findings among them) this way
        raise SageLaneError(f"synth of {env} failed: {str(exc).splitlines()[0]}") from None
    return outdir


def existing_assembly(assembly: Path, env: str, root: Path | None = None) -> Path:
    """``assembly`` checked to be a synthesized cloud assembly of ``env``'s stacks (``--assembly``)."""
    if not (assembly / "manifest.json").is_file():
        raise SageLaneError(f"{assembly} is not a cloud assembly (no manifest.json): synthesize it, or drop --assembly")
    config = load_project(env, root or find_root()).config
    present = set(load_assembly(assembly))
    missing = [name for name in config.stack_names() if name not in present and not name.endswith("-Delivery")]
    if missing:
        raise SageLaneError(
            f"{assembly} is not a cloud assembly of {env}: it lacks {', '.join(missing)} "
            f"(it holds {', '.join(sorted(present)) or 'no stacks'}); synthesize {env}, or drop --assembly"
        )
    return assembly


def stacks_in_order(assembly: Path) -> list[str]:
    """The assembly's stacks, each after the stacks it depends on."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    names = [n for n in load_assembly(assembly)]
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in names:
            return
        for dependency in artifacts[name].get("dependencies", []):
            visit(dependency)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def serve(*, env: str, port: int, state_dir: Path, assembly: Path | None = None, enforce: bool = True) -> int:
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file = state_dir / STATE_FILE
    if state_file.exists() and _alive(json.loads(state_file.read_text()).get("pid")):
        raise SageLaneError(f"an embedded AWS is already running ({state_file}); stop it with `sagelane local down`")
    started = time.perf_counter()
    _log_to_console()
    if assembly is None:
        print(f"synthesizing {env} ...", flush=True)
        assembly = synthesize(env, state_dir / "cdk.out")
    else:
        assembly = existing_assembly(assembly.resolve(), env)
    if not enforce:
        print("IAM and request validation are OFF (--no-enforce): green here does not mean green on AWS", flush=True)
    with EmbeddedAWS(
        assembly, stacks=stacks_in_order(assembly), port=port, log_dir=state_dir / "logs", enforce=enforce
    ) as cloud:
        assert cloud.summary is not None
        state_file.write_text(json.dumps({"pid": os.getpid(), "endpoint": cloud.endpoint, "env": env}))
        print("provisioned from the cloud assembly:")
        for line in cloud.summary.lines():
            print(line)
        print(f"function logs: {state_dir / 'logs'}")
        print(f"SageLane embedded AWS ({env}) ready at {cloud.endpoint} in {time.perf_counter() - started:.1f} s")
        print(f"  export AWS_ENDPOINT_URL={cloud.endpoint}   # then: sagelane data push FILE --dataset NAME --wait")
        sys.stdout.flush()
        try:
            wait_until_stopped()
        finally:
            state_file.unlink(missing_ok=True)
    print("embedded AWS stopped")
    return 0


def _log_to_console() -> None:
    """Each event delivery and each finished run, one line on the console of `local up`."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("sagelane.local")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def stop_background(state_dir: Path, timeout: float = 15.0) -> str:
    state_file = state_dir.resolve() / STATE_FILE
    if not state_file.exists():
        return f"no embedded AWS is running (no {state_file})"
    state = json.loads(state_file.read_text())
    pid = state.get("pid")
    if not _alive(pid):
        state_file.unlink(missing_ok=True)
        return f"the embedded AWS (pid {pid}) had already stopped; state file removed"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise SageLaneError(f"the embedded AWS (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.1)
    return f"stopped the embedded AWS at {state.get('endpoint')} (pid {pid})"


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as stopped
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True
