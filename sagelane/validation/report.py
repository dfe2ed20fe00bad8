"""Validation reports: a JSON document for machines and a self-contained HTML page for people.

The JSON shape is versioned (``report_version``) and stable: the ingest workflow, the CLI, the Spark
engine (later) and the tests read the same fields. Every string that came from the file (column names,
values) is escaped in the HTML page: reports are opened in browsers and files are untrusted.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sagelane import __version__
from sagelane.contract import Contract

REPORT_VERSION = 1
MAX_VALUE_CHARS = 200
MAX_COLUMNS_LISTED = 1000
Status = Literal["passed", "failed", "unreadable"]


@dataclass(frozen=True)
class Example:
    row: int  # 1-based data row
    line: int | None  # physical line in a text file (header included), when known
    values: dict[str, Any]

    @classmethod
    def of(cls, index: int, first_data_line: int | None, values: dict[str, Any]) -> Example:
        line = None if first_data_line is None else first_data_line + index
        return cls(row=index + 1, line=line, values={k: _shorten(v) for k, v in values.items()})


@dataclass(frozen=True)
class RuleResult:
    rule: str  # stable id: schema.*, column.<name>.<check>, dataset.*
    column: str | None
    passed: bool
    message: str
    failed_count: int = 0
    examples: list[Example] = field(default_factory=list)

    @classmethod
    def success(cls, rule: str, column: str | None, message: str) -> RuleResult:
        return cls(rule=rule, column=column, passed=True, message=message)

    @classmethod
    def failure(cls, rule: str, column: str | None, message: str, count: int) -> RuleResult:
        return cls(rule=rule, column=column, passed=False, message=message, failed_count=int(count))

    def with_examples(self, examples: list[Example]) -> RuleResult:
        return replace(self, examples=examples)


@dataclass(frozen=True)
class ValidationReport:
    dataset: str
    contract_version: int
    contract_sha256: str
    source: str
    status: Status
    format: str | None
    rows: int | None
    columns: list[str]  # the file's columns (the first MAX_COLUMNS_LISTED)
    rules: list[RuleResult]
    profile: dict[str, dict[str, Any]]
    error: dict[str, str] | None
    duration_ms: float
    validated_at: str
    column_count: int | None = None
    # Rows the profile's charts were drawn from (an even sample on big files); every number is exact.
    profile_sample_rows: int | None = None
    engine: str = ""  # which engine judged the file, with its version ("polars 1.x", "spark 3.5.x")
    report_version: int = REPORT_VERSION
    sagelane_version: str = __version__

    @classmethod
    def build(
        cls,
        contract: Contract,
        *,
        source: str,
        fmt: str,
        rows: int,
        header: list[str],
        rules: list[RuleResult],
        profile: dict[str, dict[str, Any]],
        profile_sample_rows: int | None,
        seconds: float,
        engine: str,
    ) -> ValidationReport:
        failed = any(not r.passed for r in rules)
        return cls(
            dataset=contract.dataset,
            contract_version=contract.version,
            contract_sha256=contract.fingerprint,
            source=source,
            status="failed" if failed else "passed",
            format=fmt,
            rows=rows,
            columns=[_shorten(h) for h in header[:MAX_COLUMNS_LISTED]],
            column_count=len(header),
            rules=sorted(rules, key=lambda r: r.passed),  # failures first, otherwise in rule order
            profile=profile,
            error=None,
            duration_ms=round(seconds * 1000, 1),
            validated_at=_now(),
            profile_sample_rows=profile_sample_rows,
            engine=engine,
        )

    @classmethod
    def unreadable(
        cls, contract: Contract, *, source: str, code: str, message: str, seconds: float, engine: str
    ) -> ValidationReport:
        return cls(
            dataset=contract.dataset,
            contract_version=contract.version,
            contract_sha256=contract.fingerprint,
            source=source,
            status="unreadable",
            format=None,
            rows=None,
            columns=[],
            rules=[],
            profile={},
            error={"code": code, "message": message},
            duration_ms=round(seconds * 1000, 1),
            validated_at=_now(),
            engine=engine,
        )

    @property
    def failed_rules(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed]

    @property
    def summary(self) -> str:
        """One line: what a person reads first."""
        if self.status == "unreadable":
            return f"UNREADABLE: {self.error['message'] if self.error else ''}"
        if self.status == "passed":
            return f"PASSED: {self.rows:,} rows, {len(self.rules)} rules checked"
        return f"FAILED: {len(self.failed_rules)} of {len(self.rules)} rules failed on {self.rows:,} rows"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {
            "rules": len(self.rules),
            "failed": len(self.failed_rules),
            "failed_rules": [r.rule for r in self.failed_rules],
            "text": self.summary,
        }
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str, ensure_ascii=False)

    def to_html(self) -> str:
        return render_html(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + f"… ({len(value):,} chars)"
    if isinstance(value, bytes):
        return _shorten(value.decode("utf-8", "replace"))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 10px}
.banner{padding:14px 18px;border-radius:8px;color:#fff;font-weight:600;margin:14px 0}
.passed{background:#2f855a}.failed{background:#c53030}.unreadable{background:#6b46c1}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:6px;overflow:hidden}
th,td{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#e4e7eb;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2f855a;font-weight:600}.ko{color:#c53030;font-weight:600}
code{background:#edf2f7;padding:1px 4px;border-radius:3px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.card{background:#fff;border-radius:6px;padding:12px 14px}.card h3{margin:0 0 6px;font-size:15px}
.meta td:first-child{width:180px;color:#52606d} small{color:#52606d}
"""


def render_html(report: ValidationReport) -> str:
    e = html.escape
    rows = "" if report.rows is None else f"{report.rows:,}"
    meta = [
        ("Dataset", e(report.dataset)),
        ("Source", f"<code>{e(report.source)}</code>"),
        ("Format", e(report.format or "?")),
        ("Rows", rows),
        ("Contract", f"version {report.contract_version}, sha256 <code>{report.contract_sha256[:16]}…</code>"),
        ("Validated", f"{e(report.validated_at)} in {report.duration_ms:,.0f} ms by {e(report.engine)}"),
    ]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>{e(report.dataset)} validation: {e(report.status)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Validation report — {e(report.dataset)}</h1><small>SageLane {e(report.sagelane_version)}</small>",
        f"<div class='banner {e(report.status)}'>{e(report.summary)}</div>",
        "<table class=meta>",
        *(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in meta),
        "</table>",
    ]
    if report.error:
        parts.append(
            f"<h2>Why the file could not be read</h2><p><code>{e(report.error['code'])}</code> — "
            f"{e(report.error['message'])}</p>"
        )
    if report.rules:
        parts.append(
            "<h2>Rules</h2><table><tr><th>Result</th><th>Rule</th><th>Detail</th><th>Rows</th><th>Examples</th></tr>"
        )
        for r in report.rules:
            verdict = "<span class=ok>pass</span>" if r.passed else "<span class=ko>FAIL</span>"
            examples = "<br>".join(
                f"row {x.row}{f' (line {x.line})' if x.line else ''}: <code>{e(format_values(x.values))}</code>"
                for x in r.examples
            )
            count = f"{r.failed_count:,}" if not r.passed else ""
            parts.append(
                f"<tr><td>{verdict}</td><td><code>{e(r.rule)}</code></td><td>{e(r.message)}</td>"
                f"<td class=num>{count}</td><td>{examples}</td></tr>"
            )
        parts.append("</table>")
    if report.profile:
        sampled = report.profile_sample_rows
        note = (
            f"<p><small>Charts drawn from an even sample of {sampled:,} rows; all figures are exact.</small></p>"
            if sampled is not None and report.rows and sampled < report.rows
            else ""
        )
        parts.append(f"<h2>Column profile</h2>{note}<div class=cards>")
        for name, prof in report.profile.items():
            parts.append(_profile_card(name, prof, report.rows or 0))
        parts.append("</div>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def format_values(values: dict[str, Any]) -> str:
    """Example values as people read them: strings quoted, missing values said so."""

    def show(value: Any) -> str:
        return "(missing)" if value is None else repr(value)

    if len(values) == 1:
        return show(next(iter(values.values())))
    return ", ".join(f"{k}={show(v)}" for k, v in values.items())


def _profile_card(name: str, prof: dict[str, Any], rows: int) -> str:
    e = html.escape
    nulls = int(prof.get("nulls", 0))
    facts = [f"type {e(str(prof.get('type')))}", f"missing {nulls:,}" + (f" ({nulls / rows:.1%})" if rows else "")]
    for label in ("min", "max", "mean", "std", "distinct", "approx_distinct", "min_length", "max_length"):
        if label in prof and prof[label] is not None:
            value = prof[label]
            facts.append(
                f"{label.replace('_', ' ')} {value:,.4g}"
                if isinstance(value, float)
                else f"{label.replace('_', ' ')} {e(str(value))}"
            )
    chart = ""
    if prof.get("histogram"):
        chart = _bars([("", n) for n in prof["histogram"]], vertical=True)
    elif prof.get("top_values"):
        chart = _bars([(str(v), int(n)) for v, n in prof["top_values"]], vertical=False)
    return f"<div class=card><h3>{e(name)}</h3><small>{' · '.join(facts)}</small>{chart}</div>"


def _bars(items: list[tuple[str, int]], *, vertical: bool) -> str:
    """A small inline SVG bar chart (no scripts, no external assets)."""
    if not items:
        return ""
    top = max(n for _, n in items) or 1
    if vertical:
        width, height = 300, 70
        bar = width / len(items)
        rects = "".join(
            f"<rect x='{i * bar:.1f}' y='{height - n / top * height:.1f}' width='{bar - 1:.1f}' "
            f"height='{n / top * height:.1f}' fill='#3182ce'><title>{n:,}</title></rect>"
            for i, (_, n) in enumerate(items)
        )
        return f"<svg viewBox='0 0 {width} {height}' width='100%' height='{height}' role=img>{rects}</svg>"
    row, width, label = 18, 300, 110
    height = row * len(items)
    rects = "".join(
        f"<text x='0' y='{i * row + 13}' font-size='12'>{html.escape(v[:16])}</text>"
        f"<rect x='{label}' y='{i * row + 3}' width='{n / top * (width - label - 40):.1f}' "
        f"height='{row - 6}' fill='#3182ce'/>"
        f"<text x='{label + n / top * (width - label - 40) + 4:.1f}' y='{i * row + 13}' font-size='11'>{n:,}</text>"
        for i, (v, n) in enumerate(items)
    )
    return f"<svg viewBox='0 0 {width} {height}' width='100%' height='{height}' role=img>{rects}</svg>"
