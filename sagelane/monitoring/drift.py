"""Drift of live traffic against a model version's baseline: PSI and KS per feature and on predictions.

The baseline (``baseline.json`` in every model artifact, written by ``training/baseline.py``) holds, per
numeric feature, the training data's decile edges and the share of rows in each bin; per categorical
feature, the category shares; and the same for the predictions. Live values are counted into the same
bins — one sort and one ``search_sorted`` per feature (polars, already in the Lambda layer), no
training data, no scipy — so a monitoring run over 10 features x 10k rows costs milliseconds.

- **PSI** (population stability index) = Σ (live - base) · ln(live / base) over the bins, shares
  floored at ``EPSILON`` so an empty bin is finite. Values outside the training range fall into the
  first / last bin; missing values and unseen categories get bins of their own (expected share: the
  baseline's missing share, or ``EPSILON``). Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25
  a significant shift.
- **KS** (Kolmogorov-Smirnov statistic) = the largest gap between the baseline's and the live data's
  cumulative distribution, read at the baseline's bin edges: the exact two-sample statistic restricted
  to those points (a lower bound of it, within a decile's resolution). For categories it is the total
  variation distance (half the L1 distance of the shares), the KS analogue on an unordered domain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl  # in the Lambda layer already (numpy is not: the layer is near Lambda's size limit)

EPSILON = 1e-4
_BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}
MISSING = "(missing)"
OTHER = "(unseen)"


@dataclass(frozen=True)
class Drift:
    name: str  # a feature, or "prediction"
    kind: str  # numeric | categorical
    psi: float
    ks: float
    rows: int
    expected: dict[str, float]  # bin label → baseline share
    observed: dict[str, float]  # bin label → live share

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _psi(expected: Sequence[float], observed: Sequence[float]) -> float:
    total = 0.0
    for e, o in zip(expected, observed, strict=True):
        e, o = max(e, EPSILON), max(o, EPSILON)
        total += (o - e) * math.log(o / e)
    return total


def numeric_drift(name: str, profile: dict[str, Any], values: Sequence[float | None] | Any) -> Drift:
    """``values``: live values (None or NaN for missing) against a numeric profile (``edges``, ``shares``)."""
    ordered = pl.Series("v", values, dtype=pl.Float64, strict=False).sort()  # nulls first, NaN last
    rows = len(ordered)
    missing = ordered.null_count() + int(ordered.is_nan().sum())
    present = ordered.slice(ordered.null_count(), rows - missing)
    n = len(present)
    edges = [float(e) for e in profile.get("edges", [])]
    base_shares = [float(s) for s in profile.get("shares", [])]
    base_missing = float(profile.get("missing_share", 0.0))
    if len(edges) < 2:  # a constant feature in training: one bin
        base_shares, inner = [1.0], [float(n)]
    else:
        # bin i holds edges[i] <= x < edges[i+1] (the last bin is closed, as numpy.histogram's); out of
        # range values fall into the first / last bin. ``present`` is sorted, so the count of values
        # below each inner edge gives every bin's count at once.
        below = present.search_sorted(pl.Series(edges[1:-1], dtype=pl.Float64), side="left").to_list()
        bounds = [0, *below, n]
        inner = [float(bounds[i + 1] - bounds[i]) for i in range(len(edges) - 1)]
    observed_missing = (rows - n) / rows if rows else 0.0
    expected = [*(s * (1.0 - base_missing) for s in base_shares), base_missing]
    observed = [*(c / max(n, 1) * (1.0 - observed_missing) for c in inner), observed_missing]
    ks = 0.0
    if len(edges) >= 3 and n:
        # cumulative shares at the inner edges (of the present values: KS compares the distributions)
        cumulative = 0.0
        for share, count in zip(base_shares[:-1], below, strict=True):
            cumulative += share
            ks = max(ks, abs(cumulative - count / n))
    labels = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g})" for i in range(len(edges) - 1)] or ["all"]
    return Drift(
        name=name,
        kind="numeric",
        psi=_psi(expected, observed),
        ks=ks,
        rows=rows,
        expected=dict(zip([*labels, MISSING], expected, strict=True)),
        observed=dict(zip([*labels, MISSING], observed, strict=True)),
    )


def categorical_drift(name: str, profile: dict[str, Any], values: list[Any]) -> Drift:
    """``values``: live categories (None / "" for missing) against a categorical profile (``shares``)."""
    base = {str(k): float(v) for k, v in profile.get("shares", {}).items()}
    counts: dict[str, int] = {}
    for value in values:
        key = MISSING if value is None or value == "" else str(value)
        key = key if key in base or key == MISSING else OTHER
        counts[key] = counts.get(key, 0) + 1
    rows = len(values)
    labels = sorted(set(base) | set(counts))
    expected = [base.get(label, 0.0) for label in labels]
    observed = [counts.get(label, 0) / rows if rows else 0.0 for label in labels]
    return Drift(
        name=name,
        kind="categorical",
        psi=_psi(expected, observed),
        ks=0.5 * sum(abs(e - o) for e, o in zip(expected, observed, strict=True)),
        rows=rows,
        expected=dict(zip(labels, expected, strict=True)),
        observed=dict(zip(labels, observed, strict=True)),
    )


def drift(baseline: dict[str, Any], records: list[dict[str, Any]], predictions: list[Any] | None = None) -> list[Drift]:
    """Drift of every baseline feature over ``records`` (and of ``predictions``, when given)."""
    results = []
    for name, profile in baseline.get("features", {}).items():
        column = [record.get(name) for record in records]
        if profile.get("kind") == "categorical":
            results.append(categorical_drift(name, profile, column))
        else:
            results.append(numeric_drift(name, profile, _numbers(column)))
    if predictions is not None and "prediction" in baseline:
        profile = baseline["prediction"]
        if profile.get("kind") == "categorical":
            results.append(categorical_drift("prediction", profile, predictions))
        else:
            results.append(numeric_drift("prediction", profile, _numbers(predictions)))
    return results


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:  # CSV requests carry text
        return _BOOLEAN_TEXT[value.strip().lower()]
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None  # not a number: counted as missing (the endpoint refuses such rows anyway)


def _numbers(column: list[Any]) -> list[float | None]:
    return [_number(value) for value in column]
