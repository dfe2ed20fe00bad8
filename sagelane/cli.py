"""The ``sagelane`` command line.

Exit codes: 0 success; 1 the data failed its contract (or a run failed); 2 the call itself is wrong or
the input cannot be read. Errors are one line on stderr, never a traceback (``SAGELANE_DEBUG=1``
shows one). Imports are lazy so that ``sagelane validate`` starts quickly.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from sagelane import __version__
from sagelane.errors import SageLaneError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_ENV = "dev"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.role or args.policy:
            from sagelane.identity import acting_as

            with acting_as(role=args.role, policy=args.policy) as arn:
                print(f"acting as {arn}", file=sys.stderr)
                return int(args.handler(args))
        return int(args.handler(args))
    except SageLaneError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3")):
            _fail(_aws_message(exc))
            return EXIT_USAGE
        # a bug: still one line, with the way to see more
        if os.environ.get("SAGELANE_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set SAGELANE_DEBUG=1 for a traceback)")
    return EXIT_USAGE


def _aws_message(exc: Exception) -> str:
    """An AWS error in the operator's terms, with what to check."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no AWS credentials: configure them (aws configure / AWS_PROFILE), or start the embedded AWS "
            "(sagelane local up) and set AWS_ENDPOINT_URL"
        )
    if name in ("EndpointConnectionError", "ConnectionClosedError"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        hint = f" Is the embedded AWS running at {endpoint}?" if endpoint else ""
        return f"cannot reach AWS: {exc}.{hint}"
    if name == "NoRegionError":
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"
    return f"AWS: {exc}"


def _fail(message: str) -> None:
    lines = message.splitlines() or [""]
    print(f"error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"       {line}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagelane", description="SageLane: serverless MLOps on AWS, runnable offline."
    )
    parser.add_argument("--version", action="version", version=f"sagelane {__version__}")
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--role", metavar="ARN", help="act as this IAM role (sts:AssumeRole; its trust policy must admit you)"
    )
    who.add_argument(
        "--policy",
        metavar="NAME",
        help="embedded AWS only: act as a role holding only this managed policy of the kit "
        "(sagelane-<env>-model-approver, sagelane-<env>-invoke)",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("validate", help="validate a data file against its dataset's contract")
    p.add_argument("file", type=Path, help="CSV (.csv, .csv.gz), Parquet or JSON Lines file")
    p.add_argument("--dataset", required=True, help="dataset name (its contract is found through the config)")
    p.add_argument("--contract", type=Path, help="contract file to use instead of the configured one")
    p.add_argument("--report-dir", type=Path, help="write report.json and report.html into this folder")
    p.add_argument(
        "--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV), help="environment config (default: dev)"
    )
    p.add_argument("--json", action="store_true", help="print the JSON report instead of a summary")
    p.add_argument(
        "--engine",
        choices=["polars", "spark"],
        default="polars",
        help="polars (what the ingest Lambda runs) or spark (what the Glue job runs, here in local mode); "
        "same rules, same verdicts",
    )
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("sample", help="generate sample data")
    p.add_argument("kind", choices=["churn"], help="which dataset")
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--defects", action="store_true", help="inject the faults the contract must catch")
    p.add_argument("--out", type=Path, required=True, help="output file: .csv, .csv.gz, .parquet or .jsonl")
    p.set_defaults(handler=_cmd_sample)

    p = sub.add_parser("contract", help="check contract files")
    p.add_argument("paths", type=Path, nargs="+", help="contract YAML files")
    p.set_defaults(handler=_cmd_contract)

    p = sub.add_parser("demo", help="run the lifecycle offline on the embedded AWS: ingest, training, approval")
    p.add_argument("--workdir", type=Path, default=Path(".sagelane/demo"), help="where sample files and reports go")
    p.add_argument(
        "--no-enforce",
        dest="enforce",
        action="store_false",
        help="run without request validation and IAM (to debug; green then does not mean green on AWS)",
    )
    p.add_argument(
        "--assembly", type=Path, help="run on this already synthesized dev cloud assembly (cdk.out), not a new synth"
    )
    p.set_defaults(handler=_cmd_demo)

    local = sub.add_parser("local", help="the embedded AWS (moto + local compute)").add_subparsers(metavar="ACTION")
    p = local.add_parser("up", help="synthesize, provision and serve the embedded AWS (foreground; Ctrl-C stops)")
    p.add_argument("--port", type=int, default=4599, help="loopback port (default 4599; 0 picks a free one)")
    p.add_argument("--state-dir", type=Path, default=Path(".sagelane/local"), help="pid file, logs, assembly")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV), help="environment config")
    p.add_argument(
        "--assembly", type=Path, help="serve this already synthesized cloud assembly (cdk.out) instead of synthesizing"
    )
    p.add_argument(
        "--no-enforce",
        dest="enforce",
        action="store_false",
        help="debugging only: serve without IAM and request validation (moto's leniency; AWS would refuse)",
    )
    p.set_defaults(handler=_cmd_local_up)
    p = local.add_parser("serve", help="serve a model version over the SageMaker container contract on loopback")
    p.add_argument("model")
    p.add_argument("--version", type=int, help="default: the latest Approved version")
    p.add_argument("--port", type=int, default=8080, help="loopback port (default 8080; 0 picks a free one)")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--model-dir", type=Path, help="serve an unpacked model directory instead of a registry version")
    p.set_defaults(handler=_cmd_local_serve)
    p = local.add_parser("down", help="stop an embedded AWS started in the background")
    p.add_argument("--state-dir", type=Path, default=Path(".sagelane/local"))
    p.set_defaults(handler=_cmd_local_down)
    p = local.add_parser("patches", help="what the embedded AWS changes in moto and botocore, and why (markdown)")
    p.set_defaults(handler=_cmd_local_patches)

    data = sub.add_parser("data", help="put data into the lake").add_subparsers(metavar="ACTION")
    p = data.add_parser("push", help="upload a file under incoming/<dataset>/ in the raw zone")
    p.add_argument("file", type=Path)
    p.add_argument("--dataset", required=True)
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--wait", action="store_true", help="follow the run; exit 1 if the file is not curated")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait with --wait (default 900)")
    p.set_defaults(handler=_cmd_data_push)
    p = data.add_parser(
        "backfill", help="ingest every file already under a prefix of the raw zone (one ingest run per file)"
    )
    p.add_argument("--dataset", required=True)
    p.add_argument("--prefix", required=True, help="a key prefix under incoming/<dataset>/ in the raw zone")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--wait", action="store_true", help="wait for the summary; exit 1 if a file was not curated")
    p.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait with --wait")
    p.set_defaults(handler=_cmd_data_backfill)

    p = sub.add_parser("train", help="start training the models of a dataset")
    p.add_argument("dataset", help="dataset name (every model trained on it), or a model name")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--wait", action="store_true", help="follow the runs; exit 1 unless every candidate is registered")
    p.add_argument("--timeout", type=float, default=3600)
    p.set_defaults(handler=_cmd_train)

    models = sub.add_parser("models", help="model versions in the Model Registry").add_subparsers(metavar="ACTION")
    p = models.add_parser("list", help="versions of a model, newest first")
    p.add_argument("model")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_models_list)
    p = models.add_parser("show", help="one version: metrics against the champion, lineage")
    p.add_argument("model")
    p.add_argument("version", type=int)
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_models_show)
    for action, status in (("approve", "Approved"), ("reject", "Rejected")):
        p = models.add_parser(action, help=f"{action} a version (needs the approver policy in AWS)")
        p.add_argument("model")
        p.add_argument("version", type=int)
        p.add_argument("--comment", help="recorded with the decision")
        p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
        p.set_defaults(handler=_cmd_models_status, status=status)

    p = models.add_parser("deploy", help="put an Approved version on the model's endpoint (e.g. an older one)")
    p.add_argument("model")
    p.add_argument("version", type=int)
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--wait", action="store_true", help="follow the deploy run; exit 1 unless it is deployed")
    p.add_argument("--timeout", type=float, default=3600)
    p.set_defaults(handler=_cmd_models_deploy)

    p = sub.add_parser(
        "monitor", help="drift of a model's live traffic against its training baseline, and its live quality, now"
    )
    p.add_argument("model")
    p.add_argument("--hours", type=float, default=24, help="captured traffic of the last N hours (default 24)")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write the drift report (HTML, with charts)")
    p.add_argument("--no-publish", action="store_true", help="do not put the metrics to CloudWatch")
    p.add_argument("--json", action="store_true")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.set_defaults(handler=_cmd_monitor)

    p = sub.add_parser("labels", help="send ground-truth labels of past predictions (for the live quality metric)")
    p.add_argument("model")
    p.add_argument(
        "file", type=Path, help="CSV with a header, or JSON Lines: inference_id, record (optional), the target"
    )
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.set_defaults(handler=_cmd_labels)

    p = sub.add_parser("predict", help="get predictions from a deployed model's endpoint")
    p.add_argument("model")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--json", dest="json_body", metavar="JSON", help="a JSON object or a list of objects")
    source.add_argument("--csv", dest="csv_body", metavar="CSV", help="CSV text with a header line")
    source.add_argument("--file", type=Path, help="a .json file (array of records) or a .csv file with a header")
    p.add_argument("--output", choices=["table", "json"], default="table")
    p.add_argument("--inference-id", help="name the request, for ground-truth labels sent later (JSON only)")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.set_defaults(handler=_cmd_predict)

    runs = sub.add_parser("runs", help="workflow runs").add_subparsers(metavar="ACTION")
    p = runs.add_parser("list", help="recent runs, newest first")
    p.add_argument("--workflow", choices=["ingest", "train", "deploy", "backfill"])
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_runs_list)
    p = runs.add_parser("show", help="one run: status, timings and its state history")
    p.add_argument("id", help="run id (execution name) or execution ARN")
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_runs_show)
    p = sub.add_parser(
        "doctor",
        help="check a deployed environment (stacks, buckets, alarms, endpoints, runs) and say how to fix it",
    )
    p.add_argument("--env", default=os.environ.get("SAGELANE_ENV", DEFAULT_ENV))
    p.add_argument(
        "--assembly",
        type=Path,
        default=None,
        help="cloud assembly to compare the deployed templates with (default: cdk.out, when it exists)",
    )
    p.add_argument("--runs", type=int, default=25, help="recent runs to read per workflow (default 25)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_doctor)
    return parser


# --- validate ------------------------------------------------------------------------------------


def _load_contract(dataset: str, contract_path: Path | None, env: str):  # -> Contract
    from sagelane.contract import load_contract

    if contract_path is not None:
        contract = load_contract(contract_path)
        if contract.dataset != dataset:
            raise SageLaneError(f"{contract_path} is the contract of dataset {contract.dataset!r}, not {dataset!r}")
        return contract
    from sagelane.config import load_project

    return load_project(env).contract(dataset)


def _cmd_validate(args: argparse.Namespace) -> int:
    contract = _load_contract(args.dataset, args.contract, args.env)
    if not args.file.exists():
        raise SageLaneError(f"{args.file}: no such file")
    if args.file.is_dir():
        raise SageLaneError(f"{args.file} is a folder, not a file")
    if args.engine == "spark":
        from sagelane.config import load_project
        from sagelane.validation.spark import glue_limits, validate_path

        limits = glue_limits(load_project(args.env).config.ingest.glue)
        report = validate_path(args.file, contract, source=str(args.file), limits=limits).report
    else:
        from sagelane.validation import validate_file

        report = validate_file(args.file, contract, source=str(args.file)).report
    written = _write_report(report, args.report_dir) if args.report_dir else []
    if args.json:
        print(report.to_json())
    else:
        _print_report(report)
        for path in written:
            print(f"report: {path}")
    if report.status == "unreadable":
        return EXIT_USAGE
    return EXIT_OK if report.status == "passed" else EXIT_FAILED


def _write_report(report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(report.to_json(), encoding="utf-8")
    html_path.write_text(report.to_html(), encoding="utf-8")
    return [json_path, html_path]


def _print_report(report) -> None:
    from sagelane.validation.report import format_values

    stream = sys.stdout if report.status == "passed" else sys.stderr
    if report.status == "unreadable":
        print(f"{report.source}: {report.error['message']}", file=sys.stderr)
        return
    print(f"{report.source}: {report.summary} ({report.duration_ms:,.0f} ms)", file=stream)
    for rule in report.failed_rules:
        print(f"  FAIL {rule.rule}: {rule.message}", file=stream)
        for example in rule.examples:
            where = f"line {example.line}" if example.line else f"row {example.row}"
            print(f"       {where}: {format_values(example.values)}", file=stream)


# --- sample / contract ---------------------------------------------------------------------------


def _cmd_sample(args: argparse.Namespace) -> int:
    from sagelane.samples import churn_frame, write_frame

    try:
        frame = churn_frame(args.rows, seed=args.seed, defects=args.defects)
        out = write_frame(frame, args.out)
    except ValueError as exc:
        raise SageLaneError(str(exc)) from None
    print(f"wrote {frame.height:,} rows to {out}")
    return EXIT_OK


def _cmd_contract(args: argparse.Namespace) -> int:
    from sagelane.contract import load_contract

    status = EXIT_OK
    for path in args.paths:
        try:
            contract = load_contract(path)
        except SageLaneError as exc:
            _fail(str(exc))
            status = EXIT_FAILED
            continue
        print(
            f"{path}: ok — dataset {contract.dataset} v{contract.version}, {len(contract.columns)} columns, "
            f"sha256 {contract.fingerprint[:12]}"
        )
    return status


# --- demo ----------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from sagelane.demo import run_demo

    return run_demo(workdir=args.workdir, enforce=args.enforce, assembly=args.assembly)


# --- local ---------------------------------------------------------------------------------------


def _cmd_local_up(args: argparse.Namespace) -> int:
    from sagelane.local.runtime import serve

    return serve(env=args.env, port=args.port, state_dir=args.state_dir, assembly=args.assembly, enforce=args.enforce)


def _cmd_local_serve(args: argparse.Namespace) -> int:
    from sagelane.config import find_root
    from sagelane.serving.local import serve

    return serve(
        env=args.env,
        model=args.model,
        version=args.version,
        port=args.port,
        model_dir=args.model_dir,
        code_dir=find_root() / "training",
    )


def _cmd_local_down(args: argparse.Namespace) -> int:
    from sagelane.local.runtime import stop_background

    print(stop_background(args.state_dir))
    return EXIT_OK


def _cmd_local_patches(args: argparse.Namespace) -> int:
    from sagelane.local import cloud, endpoints, patches, sagemaker_api, sfn_services  # noqa: F401  (they declare)

    print(patches.markdown())
    return EXIT_OK


# --- data / runs ---------------------------------------------------------------------------------


def _cmd_data_push(args: argparse.Namespace) -> int:
    from sagelane.config import load_project
    from sagelane.data import push

    load_project(args.env).contract(args.dataset)  # an unknown dataset fails here, before any upload
    pushed = push(args.env, args.dataset, args.file)
    print(f"uploaded {pushed.uri} ({pushed.bytes:,} bytes, version {pushed.version_id})")
    if not args.wait:
        return EXIT_OK
    outcome = follow_ingest(args.env, pushed, timeout=args.timeout)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _cmd_data_backfill(args: argparse.Namespace) -> int:
    import json
    import uuid

    from sagelane import aws
    from sagelane.config import load_project
    from sagelane.ingest.backfill import check_prefix
    from sagelane.runs import wait_for, workflow_arn

    load_project(args.env).contract(args.dataset)  # an unknown dataset fails here
    prefix = check_prefix(args.dataset, args.prefix)
    execution = aws.client("stepfunctions").start_execution(
        stateMachineArn=workflow_arn(args.env, "backfill"),
        name=f"backfill-{args.dataset}-{uuid.uuid4().hex[:12]}",
        input=json.dumps({"dataset": args.dataset, "prefix": prefix}),
    )["executionArn"]
    print(f"started the backfill of {prefix}: run {execution.rsplit(':', 1)[-1]}")
    if not args.wait:
        return EXIT_OK
    run = wait_for(lambda: execution, timeout=args.timeout)
    if run.status != "SUCCEEDED":
        print(f"backfill {run.status}: {run.error}: {run.cause}")
        return EXIT_FAILED
    summary = (run.output or {}).get("summary", {})
    print(
        f"{summary.get('files', 0):,} file(s): {summary.get('curated', 0):,} curated, "
        f"{summary.get('quarantined', 0):,} quarantined, {summary.get('refused', 0):,} refused, "
        f"{summary.get('failed', 0):,} failed, {summary.get('skipped', 0):,} already ingested"
    )
    for failure in summary.get("failures", []):
        print(f"  {failure['outcome']}: {failure['key']}" + (f" ({failure['cause']})" if failure.get("cause") else ""))
    done = summary.get("curated", 0) + summary.get("skipped", 0)
    return EXIT_OK if summary.get("files", 0) == done and not summary.get("failures") else EXIT_FAILED


def follow_ingest(env: str, pushed, *, timeout: float, out=None):
    """Wait for the ingest run of a pushed file, printing its progress and outcome."""
    from sagelane.runs import find_ingest_execution, ingest_outcome, wait_for

    out = out or sys.stdout

    def progress(run, step) -> None:
        print(f"  {run.id[:8]} {step.name}", file=out)

    def find() -> str | None:
        return find_ingest_execution(
            env, bucket=pushed.bucket, key=pushed.key, version_id=pushed.version_id, since=pushed.at
        )

    try:
        run = wait_for(find, timeout=timeout, on_progress=progress)
    except TimeoutError as exc:
        raise SageLaneError(f"{pushed.uri}: {exc} within {timeout:.0f} s") from None
    outcome = ingest_outcome(run)
    print(f"{outcome.verdict.upper()}: {outcome.message}", file=out)
    if outcome.location:
        print(f"  data:   {outcome.location}", file=out)
    if outcome.report:
        print(f"  report: {outcome.report}", file=out)
    return outcome


def _cmd_runs_list(args: argparse.Namespace) -> int:
    import json

    from sagelane.runs import list_runs

    runs = list_runs(args.env, args.workflow, limit=args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2, default=str))
        return EXIT_OK
    if not runs:
        print("no runs yet")
        return EXIT_OK
    print(f"{'RUN':<10} {'WORKFLOW':<8} {'STATUS':<10} {'STARTED (UTC)':<20} {'SECONDS':>8}  SUBJECT")
    for r in runs:
        seconds = f"{r.seconds:.1f}" if r.seconds is not None else "-"
        started = r.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        ended = f"  [{r.error}]" if r.error else ""
        print(f"{r.id[:8]:<10} {r.workflow:<8} {r.status:<10} {started:<20} {seconds:>8}  {r.subject}{ended}")
    return EXIT_OK


def _cmd_runs_show(args: argparse.Namespace) -> int:
    import json

    from sagelane.runs import find_run

    if len(args.id) < 36 and not args.id.startswith("arn:"):
        args.id = _expand_run_id(args.env, args.id)
    run = find_run(args.env, args.id)
    if args.json:
        print(json.dumps(run.to_dict(), indent=2, default=str))
        return EXIT_OK
    seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "running"
    print(f"run {run.id} — {run.workflow} — {run.status} ({seconds})")
    print(f"  subject: {run.subject}")
    print(f"  started: {run.started.astimezone(UTC).isoformat(timespec='seconds')}")
    for step in run.steps:
        took = f"{step.seconds * 1000:7.0f} ms" if step.seconds is not None else "        -"
        print(f"  {took}  {step.status:<9} {step.name}")
        if step.error:
            print(f"             error: {step.error}: {(step.cause or '')[:300]}")
    if run.error:
        print(f"  ended in {run.error}: {run.cause}")
    return EXIT_OK if run.status in ("SUCCEEDED", "RUNNING") else EXIT_FAILED


# --- train / models ------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    import json
    import uuid

    from sagelane import aws
    from sagelane.config import load_project
    from sagelane.runs import wait_for, workflow_arn

    config = load_project(args.env).config
    names = [m.name for m in config.models_of(args.dataset)] or [config.model(args.dataset).name]
    sfn = aws.client("stepfunctions")
    arn = workflow_arn(args.env, "train")
    started = []
    for name in names:
        execution = sfn.start_execution(
            stateMachineArn=arn, name=f"cli-{uuid.uuid4()}", input=json.dumps({"model": name, "trigger": "cli"})
        )["executionArn"]
        started.append((name, execution))
        print(f"started training of {name}: run {execution.rsplit(':', 1)[-1][:12]}")
    if not args.wait:
        return EXIT_OK
    ok = True
    for name, execution in started:
        run = wait_for(functools.partial(str, execution), timeout=args.timeout)
        registered = run.status == "SUCCEEDED" and run.end_state == "Registered"
        ok &= registered
        detail = (run.output or {}).get("registered", {}) if run.output else {}
        if registered:
            print(f"{name}: registered version {detail.get('version')} ({detail.get('status')})")
        elif run.status == "SUCCEEDED":
            print(f"{name}: {run.end_state} (a training of it was already running; it will include the new data)")
        else:
            print(f"{name}: {run.error}: {run.cause}")
    return EXIT_OK if ok else EXIT_FAILED


def _cmd_models_deploy(args: argparse.Namespace) -> int:
    import json
    import uuid

    from sagelane import aws
    from sagelane.config import load_project
    from sagelane.registry import get_version
    from sagelane.runs import wait_for, workflow_arn

    load_project(args.env).config.model(args.model)
    version = get_version(args.env, args.model, args.version)
    if version.status != "Approved":
        print(f"error: {args.model} version {args.version} is {version.status}: only Approved versions are deployed")
        return EXIT_USAGE
    execution = aws.client("stepfunctions").start_execution(
        stateMachineArn=workflow_arn(args.env, "deploy"),
        name=f"cli-{uuid.uuid4()}",
        input=json.dumps({"model": args.model, "version": args.version}),
    )["executionArn"]
    print(f"started deploying {args.model} version {args.version}: run {execution.rsplit(':', 1)[-1][:12]}")
    if not args.wait:
        return EXIT_OK
    run = wait_for(lambda: execution, timeout=args.timeout)
    plan = (run.output or {}).get("plan", {})
    if run.status == "SUCCEEDED":
        print(f"{args.model}: {run.end_state}: {plan.get('reason', '')}")
        return EXIT_OK if run.end_state in ("Deployed", "NothingToDeploy") else EXIT_FAILED
    print(f"{args.model}: {run.error}: {run.cause}")
    return EXIT_FAILED


def _cmd_models_list(args: argparse.Namespace) -> int:
    import json

    from sagelane.client import live_version
    from sagelane.config import load_project
    from sagelane.registry import list_versions

    config = load_project(args.env).config
    config.model(args.model)  # unknown model: a clear error before any AWS call
    primary = _primary_metric(args.env, args.model)
    versions = list_versions(args.env, args.model)
    if args.json:
        print(json.dumps([v.to_dict() for v in versions], indent=2, default=str))
        return EXIT_OK
    if not versions:
        print(f"{args.model} has no versions yet (sagelane train {config.model(args.model).dataset})")
        return EXIT_OK
    live = live_version(args.env, args.model)
    print(f"{'VERSION':>7}  {'STATUS':<22} {'CREATED (UTC)':<20} {primary:>10}  {'LIVE':<4}  TRAINING JOB")
    for v in versions:
        created = v.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if v.created else "-"
        score = v.metrics.get(primary)
        shown = f"{score:.4f}" if isinstance(score, int | float) else "-"
        flag, job = ("yes" if v.version == live else ""), v.metadata.get("training_job", "-")
        print(f"{v.version:>7}  {v.status:<22} {created:<20} {shown:>10}  {flag:<4}  {job}")
    return EXIT_OK


def _cmd_models_show(args: argparse.Namespace) -> int:
    import json

    from sagelane.config import load_project
    from sagelane.registry import champion, get_version

    load_project(args.env).config.model(args.model)
    version = get_version(args.env, args.model, args.version)
    best = champion(args.env, args.model)
    if args.json:
        data = version.to_dict()
        data["champion"] = best.to_dict() if best else None
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    print(f"{args.model} version {version.version}: {version.status}")
    print(f"  {version.description}")
    vs = f"champion v{best.version}" if best and best.version != version.version else "champion"
    print(f"  {'metric':<12} {'this':>10} {vs:>14}")
    for name, value in sorted(version.metrics.items()):
        if name == "rows":
            continue
        other = best.metrics.get(name) if best and best.version != version.version else None
        print(f"  {name:<12} {value:>10.4f} {'-' if other is None else format(other, '.4f'):>14}")
    print("  lineage:")
    for key in (
        "dataset",
        "training_job",
        "lineage",
        "lineage_sha256",
        "contract_sha256",
        "code_version",
        "trigger",
        "alarm",
    ):
        if key in version.metadata:
            print(f"    {key}: {version.metadata[key]}")
    print(f"    model data: {version.model_data}")
    return EXIT_OK


def _cmd_models_status(args: argparse.Namespace) -> int:
    from sagelane.config import load_project
    from sagelane.registry import set_status

    load_project(args.env).config.model(args.model)
    version = set_status(args.env, args.model, args.version, args.status, comment=args.comment)
    print(f"{args.model} version {version.version} is now {version.status}")
    return EXIT_OK


def _cmd_monitor(args: argparse.Namespace) -> int:
    import json

    from sagelane import aws
    from sagelane.config import load_project
    from sagelane.monitoring.monitor import check_model, check_model_quality, publish, publish_quality
    from sagelane.monitoring.quality import alarm_threshold
    from sagelane.monitoring.report import render_html, text_table
    from sagelane.runs import parameter

    project = load_project(args.env)
    model = project.config.model(args.model)
    contract = project.contract(model.dataset)
    bucket = parameter(f"/sagelane/{args.env}/lake/artifacts-bucket")
    s3 = aws.client("s3")
    report = check_model(
        s3=s3,
        sagemaker=aws.client("sagemaker"),
        env=args.env,
        model=args.model,
        capture_bucket=bucket,
        hours=args.hours,
    )
    quality = check_model_quality(s3=s3, env=args.env, model=model, contract=contract, bucket=bucket, hours=args.hours)
    published = 0
    if not args.no_publish:
        cloudwatch = aws.client("cloudwatch")
        published = publish(cloudwatch, env=args.env, report=report, min_rows=model.monitoring.min_rows)
        if quality is not None:
            published += publish_quality(cloudwatch, env=args.env, model=args.model, quality=quality)
    if args.html:
        args.html.write_text(render_html(report), encoding="utf-8")
    if args.json:
        print(json.dumps({**report.to_dict(), "quality": quality.to_dict() if quality else None}, indent=2))
        return EXIT_OK
    print(
        f"{args.model} version {report.live.version} on {report.live.endpoint}: {report.requests:,} requests, "
        f"{report.rows:,} rows in the last {args.hours:g} h; max PSI {report.max_psi:.4f}, max KS {report.max_ks:.4f}"
    )
    if report.results:
        print("\n".join(text_table(report)))
        if report.rows < model.monitoring.min_rows:
            print(
                f"fewer rows than monitoring.min_rows ({model.monitoring.min_rows}): too noisy for the drift alarm, "
                "the drift figures are not published"
            )
    else:
        print("no captured traffic in this window: nothing to compare")
    if quality is not None:
        print(_quality_line(quality, alarm_threshold(model, contract)))
        for problem in quality.rejected:
            print(f"  labels file rejected: {problem}")
    if published:
        print(f"published {published} metrics to CloudWatch (namespace SageLane/{args.env})")
    if args.html:
        print(f"report: {args.html}")
    return EXIT_OK


def _quality_line(quality: Any, threshold: float | None) -> str:
    from sagelane.monitoring.quality import LOWER_IS_BETTER

    counts = f"{quality.labelled:,} labelled rows from {quality.files} labels files"
    extra = [
        f"{n} {what}"
        for n, what in ((quality.unmatched, "without a captured request"), (quality.unknown, "not a known value"))
        if n
    ]
    counts += f" ({', '.join(extra)})" if extra else ""
    if quality.value is None:
        return f"live {quality.metric}: no figure yet ({counts})"
    verdict = ""
    if threshold is not None:
        bad = quality.value > threshold if quality.metric in LOWER_IS_BETTER else quality.value < threshold
        verdict = f"; threshold {threshold:g}: {'BREACHED' if bad else 'ok'}"
    return f"live {quality.metric} {quality.value:.4f} on {counts}{verdict}"


def _cmd_labels(args: argparse.Namespace) -> int:
    from datetime import datetime

    from sagelane import aws
    from sagelane.config import load_project
    from sagelane.monitoring.quality import LABELS_PREFIX, parse_labels
    from sagelane.runs import parameter

    project = load_project(args.env)
    model = project.config.model(args.model)
    target = project.contract(model.dataset).target
    if target is None:
        raise SageLaneError(f"the contract of {model.dataset} has no target: {args.model} has nothing to label")
    if not args.file.is_file():
        raise SageLaneError(f"{args.file}: no such file")
    text = args.file.read_text(encoding="utf-8")
    labels = parse_labels(text, name=str(args.file), target=target.column)  # refuse a bad file here, not later
    if not labels:
        raise SageLaneError(f"{args.file}: no labelled rows (inference_id and {target.column} on each)")
    bucket = parameter(f"/sagelane/{args.env}/lake/artifacts-bucket")
    key = f"{LABELS_PREFIX}/{args.model}/{datetime.now(UTC):%Y/%m/%d/%H%M%S}-{args.file.name}"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
    print(f"{len(labels):,} labels for {args.model} → s3://{bucket}/{key} (counted by the next quality check)")
    return EXIT_OK


def _cmd_predict(args: argparse.Namespace) -> int:
    import json

    from sagelane.client import Predictor

    predictor = Predictor(args.model, env=args.env)
    if args.file is not None:
        if not args.file.is_file():
            raise SageLaneError(f"{args.file}: no such file")
        text = args.file.read_text(encoding="utf-8")
        is_csv = args.file.suffix.lower() == ".csv"
    else:
        text, is_csv = (args.csv_body, True) if args.csv_body is not None else (args.json_body, False)
    if is_csv:
        if args.inference_id:
            raise SageLaneError("--inference-id names JSON requests: send the rows as JSON")
        predictions = predictor.predict_csv(text)
    else:
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SageLaneError(f"the input is not valid JSON: {exc}") from None
        predictions = predictor.predict(records, inference_id=args.inference_id)
    if args.output == "json":
        print(json.dumps(predictions, indent=2))
        return EXIT_OK
    for i, p in enumerate(predictions):
        probabilities = p.get("probabilities") or {}
        confidence = f"  (p={probabilities[p['prediction']]:.3f})" if p.get("prediction") in probabilities else ""
        print(f"{i:>4}  {p['prediction']}{confidence}")
    return EXIT_OK


def _primary_metric(env: str, model: str) -> str:
    from sagelane.config import load_project

    project = load_project(env)
    contract = project.contract(project.config.model(model).dataset)
    return contract.target.primary_metric if contract.target else "score"


def _expand_run_id(env: str, prefix: str) -> str:
    """Accept the 8-character prefix `runs list` prints."""
    from sagelane.runs import list_runs

    matches = [r.id for r in list_runs(env, limit=1000) if r.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SageLaneError(f"no run starts with {prefix!r} (see `sagelane runs list`)")
    raise SageLaneError(f"{prefix!r} matches {len(matches)} runs: give more characters")


# --- doctor --------------------------------------------------------------------------------------


def _cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from sagelane.config import find_root, load_project
    from sagelane.doctor import diagnose

    project = load_project(args.env)
    assembly = args.assembly
    if assembly is None and (find_root() / "cdk.out").is_dir():
        assembly = find_root() / "cdk.out"
    diagnosis = diagnose(project.config, assembly=assembly, runs=args.runs)
    print(json.dumps(diagnosis.to_dict(), indent=2) if args.json else diagnosis.render())
    return EXIT_OK if diagnosis.healthy else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
