"""The drift baseline saved with each model version: what the training data and predictions looked like.

Numeric features: decile edges and the share of training rows in each bin (PSI / KS later compare live
traffic against these without the training data). Categories: frequencies. Predictions: the class
distribution (classification) or decile edges (regression).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from features import FeatureSpec

BINS = 10


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {"edges": [], "shares": [], "missing_share": 1.0}
    edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)))
    counts, _ = np.histogram(values, bins=edges) if len(edges) > 1 else (np.array([len(values)]), edges)
    return {"edges": edges.tolist(), "shares": (counts / counts.sum()).tolist()}


def build(spec: FeatureSpec, features: pd.DataFrame, predictions: np.ndarray, classes: list[str]) -> dict[str, Any]:
    rows = len(features)
    result: dict[str, Any] = {"rows": rows, "features": {}}
    for c in [*spec.numeric, *spec.boolean]:
        values = features[c].to_numpy(dtype=np.float64)
        profile = numeric_profile(values)
        profile["missing_share"] = float(np.isnan(values).mean()) if rows else 0.0
        result["features"][c] = {"kind": "numeric", **profile}
    for c in spec.categorical:
        shares = features[c].replace("", "(missing)").value_counts(normalize=True)
        result["features"][c] = {"kind": "categorical", "shares": {str(k): float(v) for k, v in shares.items()}}
    if spec.is_classification:
        labels = predictions.argmax(axis=1) if predictions.ndim == 2 else predictions
        counts = np.bincount(labels.astype(int), minlength=len(classes))
        result["prediction"] = {
            "kind": "categorical",
            "shares": {c: float(n / max(rows, 1)) for c, n in zip(classes, counts, strict=True)},
        }
    else:
        result["prediction"] = {"kind": "numeric", **numeric_profile(np.asarray(predictions, dtype=np.float64))}
    return result
