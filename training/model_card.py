"""The model card of a version: intended use, data, metrics against the thresholds and the champion,
feature importance, limits. Markdown for the registry and people; HTML for browsers."""

from __future__ import annotations

import html
from typing import Any

from evaluate import LOWER_IS_BETTER
from features import FeatureSpec

SHOWN_METRICS = ("accuracy", "macro_f1", "roc_auc", "log_loss", "rmse", "mae", "r2")


def markdown(
    *,
    spec: FeatureSpec,
    contract: dict[str, Any],
    metrics: dict[str, Any],
    validation_metrics: dict[str, Any],
    champion: dict[str, Any] | None,
    importance: list[tuple[str, float]],
    rows: dict[str, int],
    onnx: dict[str, Any],
    training: dict[str, Any],
    lineage: dict[str, Any],
) -> str:
    lines = [
        f"# Model card — {spec.dataset} ({spec.problem_type.replace('_', ' ')})",
        "",
        "## Intended use",
        "",
        f"Predicts `{spec.target}` for records of the `{spec.dataset}` dataset. "
        f"{contract.get('description', '')}".strip(),
        "Use it on records that pass the dataset's data contract; it was not trained for anything else.",
        "",
        "## Data",
        "",
        "| split | rows |",
        "|---|---:|",
        *(f"| {name} | {count:,} |" for name, count in rows.items()),
        "",
        f"Contract version {contract.get('version', '?')}. Features ({len(spec.features)}): "
        + ", ".join(f"`{f}`" for f in spec.features)
        + ".",
    ]
    if lineage:
        lines += ["", "Lineage:", ""] + [f"- {k}: `{v}`" for k, v in lineage.items()]
    lines += ["", "## Metrics (held-out test split)", ""]
    header = "| metric | this version | validation | champion | threshold |"
    lines += [header, "|---|---:|---:|---:|---:|"]
    for name in SHOWN_METRICS:
        if name not in metrics:
            continue
        champ = champion.get(name) if champion else None
        limit = spec.thresholds.get(name)
        direction = " (lower is better)" if name in LOWER_IS_BETTER else ""
        lines.append(
            f"| {name}{direction} | {metrics[name]:.4f} | {validation_metrics.get(name, float('nan')):.4f} | "
            f"{'—' if champ is None else f'{champ:.4f}'} | {'—' if limit is None else limit} |"
        )
    if "confusion_matrix" in metrics:
        cm = metrics["confusion_matrix"]
        lines += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
        lines += ["| | " + " | ".join(cm["labels"]) + " |", "|---" * (len(cm["labels"]) + 1) + "|"]
        lines += [
            f"| **{label}** | " + " | ".join(str(v) for v in row) + " |"
            for label, row in zip(cm["labels"], cm["matrix"], strict=True)
        ]
    if importance:
        lines += [
            "",
            "## Feature importance (permutation, validation split)",
            "",
            "| feature | drop in score |",
            "|---|---:|",
        ]
        lines += [f"| `{name}` | {value:.4f} |" for name, value in importance[:15]]
    lines += ["", "## Limits", ""]
    lines += [
        f"- Trained on {rows.get('train', 0):,} rows; behaviour outside the ranges and categories of the "
        "contract is undefined.",
        "- Columns left out by design: ids (unique), PII, dates, free text.",
        (
            f"- ONNX fast path: exported, max probability difference {onnx['max_abs_difference']:.2e} on "
            f"{onnx['rows_compared']} rows "
            f"({'trusted' if onnx.get('trusted') else 'NOT trusted: serving uses scikit-learn'})."
            if onnx.get("exported")
            else f"- No ONNX fast path ({onnx.get('reason', 'not exported')}); serving uses scikit-learn."
        ),
    ]
    lines += ["", "## Training", ""] + [f"- {k}: `{v}`" for k, v in training.items()]
    return "\n".join(lines) + "\n"


def to_html(text: str) -> str:
    """A small Markdown subset (headings, tables, lists, paragraphs, `code`, **bold**) to HTML."""
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Model card</title><style>",
        "body{font:14px/1.5 system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#1f2933}",
        "table{border-collapse:collapse}td,th{border:1px solid #d9e2ec;padding:4px 8px}code{background:#edf2f7}",
        "</style></head><body>",
    ]
    table: list[str] = []

    def inline(s: str) -> str:
        s = html.escape(s)
        parts = s.split("`")
        s = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
        parts = s.split("**")
        return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))

    def flush_table() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= set("-:")]
            out.append("<table>")
            for i, row in enumerate(rows):
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                tag = "th" if i == 0 else "td"
                out.append("<tr>" + "".join(f"<{tag}>{inline(c)}</{tag}>" for c in cells) + "</tr>")
            out.append("</table>")
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush_table()
    out.append("</body></html>")
    return "\n".join(out)
