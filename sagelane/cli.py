"""The ``sagelane`` command line.

Exit codes: 0 success; 1 the data failed its contract (or a run failed); 2 the call itself is wrong or
the input cannot be read. Errors are one line on stderr, never a traceback (``SAGELANE_DEBUG=1``
shows one). Imports are lazy so that ``sagelane validate`` starts quickly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

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
        return int(args.handler(args))
    except SageLaneError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, with the way to see more
        if os.environ.get("SAGELANE_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set SAGELANE_DEBUG=1 for a traceback)")
    return EXIT_USAGE


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

    p = sub.add_parser("demo", help="run the demo: validate the sample data and synthesize the app")
    p.add_argument("--workdir", type=Path, default=Path(".sagelane/demo"), help="where sample files and reports go")
    p.add_argument("--skip-synth", action="store_true", help="do not run `cdk synth`")
    p.set_defaults(handler=_cmd_demo)
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
    stream = sys.stdout if report.status == "passed" else sys.stderr
    if report.status == "unreadable":
        print(f"{report.source}: {report.error['message']}", file=sys.stderr)
        return
    print(f"{report.source}: {report.summary} ({report.duration_ms:,.0f} ms)", file=stream)
    for rule in report.failed_rules:
        print(f"  FAIL {rule.rule}: {rule.message}", file=stream)
        for example in rule.examples:
            where = f"line {example.line}" if example.line else f"row {example.row}"
            values = ", ".join(f"{k}={v!r}" for k, v in example.values.items())
            print(f"       {where}: {values}", file=stream)


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

    return run_demo(workdir=args.workdir, synth=not args.skip_synth)


if __name__ == "__main__":
    sys.exit(main())
