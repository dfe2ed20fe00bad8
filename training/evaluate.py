"""Metrics on a held-out split, fitting the problem type."""

from __future__ import annotations

from typing import Any

import numpy as np
from features import FeatureSpec
from sklearn import metrics

# Metrics where lower is better (everything else: higher is better).
LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}


def evaluate(spec: FeatureSpec, y_true: np.ndarray, proba_or_pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """``y_true``: class indices (classification) or values; ``proba_or_pred``: class probabilities or values."""
    if not spec.is_classification:
        pred = proba_or_pred
        return {
            "rmse": float(np.sqrt(metrics.mean_squared_error(y_true, pred))),
            "mae": float(metrics.mean_absolute_error(y_true, pred)),
            "r2": float(metrics.r2_score(y_true, pred)),
            "rows": len(y_true),
        }
    proba = proba_or_pred
    pred = proba.argmax(axis=1)
    labels = list(range(len(classes)))
    result: dict[str, Any] = {
        "accuracy": float(metrics.accuracy_score(y_true, pred)),
        "macro_f1": float(metrics.f1_score(y_true, pred, average="macro", labels=labels, zero_division=0)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=labels)),
        "confusion_matrix": {
            "labels": classes,
            "matrix": metrics.confusion_matrix(y_true, pred, labels=labels).tolist(),
        },
        "rows": len(y_true),
    }
    present = np.unique(y_true)
    if len(present) == len(classes):
        if len(classes) == 2:
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
        else:
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="macro"))
    return result


def better(metric: str, candidate: float, reference: float, tolerance: float = 0.0) -> bool:
    """Is ``candidate`` at least as good as ``reference`` minus ``tolerance``?"""
    if metric in LOWER_IS_BETTER:
        return candidate <= reference + tolerance
    return candidate >= reference - tolerance


def meets_thresholds(result: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """The thresholds the metrics miss, in words (empty when all are met)."""
    misses = []
    for name, limit in thresholds.items():
        value = result.get(name)
        if value is None:
            misses.append(f"{name} was not measured")
        elif not better(name, float(value), float(limit)):
            misses.append(f"{name} {value:.4f} {'>' if name in LOWER_IS_BETTER else '<'} {limit}")
    return misses
