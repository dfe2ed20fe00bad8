"""The drift report: one self-contained HTML page (inline SVG charts, no scripts, no external assets)."""

from __future__ import annotations

import html

from sagelane.monitoring.drift import Drift
from sagelane.monitoring.monitor import DriftReport

# PSI bands as commonly read; the alarm threshold itself comes from the config.
STABLE, MODERATE = 0.1, 0.25


def verdict(psi: float) -> str:
    return "stable" if psi < STABLE else "moderate shift" if psi < MODERATE else "significant shift"


def text_table(report: DriftReport) -> list[str]:
    """The per-feature lines ``sagelane monitor`` prints."""
    lines = [f"{'FEATURE':<24} {'KIND':<12} {'PSI':>8} {'KS':>7}  VERDICT"]
    for d in sorted(report.results, key=lambda d: d.psi, reverse=True):
        lines.append(f"{d.name:<24} {d.kind:<12} {d.psi:>8.4f} {d.ks:>7.4f}  {verdict(d.psi)}")
    return lines


def _pairs(d: Drift) -> str:
    """Baseline vs live share per bin: two bars a bin."""
    labels = list(d.expected)
    top = max([*d.expected.values(), *d.observed.values(), 1e-9])
    row, width, label = 20, 420, 130
    scale = (width - label - 50) / top
    parts = []
    for i, name in enumerate(labels):
        y = i * row
        e, o = d.expected[name], d.observed.get(name, 0.0)
        parts.append(
            f"<text x='0' y='{y + 14}' font-size='11'>{html.escape(name[:20])}</text>"
            f"<rect x='{label}' y='{y + 2}' width='{e * scale:.1f}' height='7' fill='#a0aec0'>"
            f"<title>baseline {e:.1%}</title></rect>"
            f"<rect x='{label}' y='{y + 10}' width='{o * scale:.1f}' height='7' fill='#3182ce'>"
            f"<title>live {o:.1%}</title></rect>"
            f"<text x='{label + max(e, o) * scale + 4:.1f}' y='{y + 14}' font-size='10'>{e:.0%} → {o:.0%}</text>"
        )
    height = row * len(labels)
    return f"<svg viewBox='0 0 {width} {height}' width='100%' height='{height}' role=img>{''.join(parts)}</svg>"


def render_html(report: DriftReport, *, threshold: float | None = None) -> str:
    e = html.escape
    cards = "".join(
        f"<div class='card {'alert' if d.psi >= (threshold or MODERATE) else ''}'><h3>{e(d.name)}</h3>"
        f"<small>{e(d.kind)} · PSI {d.psi:.4f} · KS {d.ks:.4f} · {e(verdict(d.psi))}</small>{_pairs(d)}</div>"
        for d in sorted(report.results, key=lambda d: d.psi, reverse=True)
    )
    limit = f" · alarm threshold PSI {threshold:g}" if threshold is not None else ""
    empty = "" if report.results else "<p>No captured traffic in this window: nothing to compare.</p>"
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>Drift: {e(report.model)} v{report.live.version}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem;max-width:1100px}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1rem}}
.card{{border:1px solid #e2e8f0;border-radius:6px;padding:.6rem}}.card.alert{{border-color:#e53e3e}}
h3{{margin:.1rem 0}}small{{color:#4a5568}}</style></head><body>
<h1>Drift of {e(report.model)} version {report.live.version}</h1>
<p>Endpoint {e(report.live.endpoint)} · traffic {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC
· {report.requests:,} requests, {report.rows:,} rows ({report.unreadable:,} unreadable capture lines)
· max PSI {report.max_psi:.4f} · max KS {report.max_ks:.4f}{limit}</p>
<p><span style='color:#a0aec0'>■</span> training baseline <span style='color:#3182ce'>■</span> live traffic.
PSI below 0.1 is stable, 0.1 to 0.25 a moderate shift, above 0.25 a significant one; KS is the largest
gap between the two cumulative distributions (for categories: half the L1 distance of the shares).</p>
{empty}<div class=grid>{cards}</div></body></html>"""
