"""Live quality: the contract's primary metric on the live traffic whose ground truth has arrived.

Ground-truth labels are files under ``s3://<artifacts>/labels/<model>/`` (``sagelane monitor labels``
uploads them there): CSV with a header, or JSON Lines, one row per labelled record with

- ``inference_id``: the id the request was sent with (``Predictor.predict(..., inference_id=...)``, or
  ``InvokeEndpoint``'s ``InferenceId``), which the capture records;
- ``record`` (optional, default 0): the record's position in that request, for batch requests;
- the contract's target column: the true value.

The labels that arrived in the window are joined to the captured outputs on (inference_id, record), and
the primary metric is computed on the pairs — in plain Python (the Lambda layer has no numpy or
scikit-learn; a unit test holds every metric to scikit-learn's). Labels whose request was not captured
(not sampled, or older than the capture window) are counted, not guessed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sagelane.errors import SageLaneError

if TYPE_CHECKING:
    from sagelane.config import ModelConfig
    from sagelane.contract import Contract

LABELS_PREFIX = "labels"
LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}  # as training/evaluate.py
CLASSIFICATION_METRICS = {"accuracy", "macro_f1", "roc_auc", "log_loss"}
REGRESSION_METRICS = {"rmse", "mae", "r2"}
_TRUE, _FALSE = {"true", "1", "1.0", "yes"}, {"false", "0", "0.0", "no"}


class LabelError(SageLaneError):
    """A labels file that cannot be read as labels (named in the message)."""


# --- metrics ----------------------------------------------------------------------------------------


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def macro_f1(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    scores = []
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != c and p == c for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == c and p != c for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def _auc(positive: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting half
    (the Mann-Whitney U statistic from average ranks)."""
    n_pos = sum(positive)
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positive, strict=True) if p)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_auc(truth: Sequence[str], probabilities: Sequence[dict[str, float]], classes: Sequence[str]) -> float | None:
    """Binary: the AUC of the second class (as training scores it); multiclass: the macro one-vs-rest
    AUC. None while a class is absent from the labels (the AUC is undefined)."""
    if len(classes) == 2:
        positive = classes[1]
        return _auc([t == positive for t in truth], [p.get(positive, 0.0) for p in probabilities])
    aucs = [_auc([t == c for t in truth], [p.get(c, 0.0) for p in probabilities]) for c in classes]
    return None if any(a is None for a in aucs) else sum(a for a in aucs if a is not None) / len(aucs)


def log_loss(truth: Sequence[str], probabilities: Sequence[dict[str, float]]) -> float:
    eps = 1e-15
    return -sum(
        math.log(min(max(p.get(t, 0.0), eps), 1 - eps)) for t, p in zip(truth, probabilities, strict=True)
    ) / len(truth)


def regression(name: str, truth: Sequence[float], predicted: Sequence[float]) -> float | None:
    n = len(truth)
    errors = [p - t for t, p in zip(truth, predicted, strict=True)]
    if name == "rmse":
        return math.sqrt(sum(e * e for e in errors) / n)
    if name == "mae":
        return sum(abs(e) for e in errors) / n
    mean = sum(truth) / n
    total = sum((t - mean) ** 2 for t in truth)
    return None if total == 0 else 1 - sum(e * e for e in errors) / total


# --- labels -----------------------------------------------------------------------------------------


@dataclass
class Labels:
    values: dict[tuple[str, int], Any] = field(default_factory=dict)  # (inference_id, record) → truth
    files: int = 0
    rejected: list[str] = field(default_factory=list)  # files that could not be read, with the reason


def parse_labels(text: str, *, name: str, target: str) -> dict[tuple[str, int], Any]:
    """One labels file (CSV with a header, or JSON Lines) → {(inference_id, record): truth}."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise LabelError(f"{name}: not JSON Lines ({exc})") from None
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    out: dict[tuple[str, int], Any] = {}
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "inference_id" not in row or target not in row:
            raise LabelError(f"{name}: row {i} needs the fields inference_id and {target}")
        try:
            record = int(row.get("record") or 0)
        except (TypeError, ValueError):
            raise LabelError(f"{name}: row {i}: record must be a whole number, got {row.get('record')!r}") from None
        if row[target] is None or row[target] == "":
            continue  # no truth yet for this one
        out[(str(row["inference_id"]), record)] = row[target]
    return out


def read_labels(s3: Any, *, bucket: str, prefix: str, since: datetime, until: datetime, target: str) -> Labels:
    """The labels files under ``prefix`` that arrived (were last modified) between ``since`` and ``until``."""
    labels = Labels()
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix.rstrip("/") + "/"}
    while True:
        page = s3.list_objects_v2(**kwargs)
        for item in page.get("Contents", []):
            if not since <= item["LastModified"] <= until:
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
            try:
                labels.values.update(parse_labels(body, name=item["Key"], target=target))
                labels.files += 1
            except LabelError as exc:
                labels.rejected.append(str(exc))
        if not page.get("IsTruncated"):
            return labels
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


# --- the live metric --------------------------------------------------------------------------------


def alarm_threshold(model: ModelConfig, contract: Contract) -> float | None:
    """Where the live primary metric alarms: ``monitoring.quality_threshold``, else the contract's
    threshold for its primary metric; None: no quality alarm."""
    if contract.target is None:
        return None
    if model.monitoring.quality_threshold is not None:
        return model.monitoring.quality_threshold
    return contract.target.thresholds.get(contract.target.primary_metric)


@dataclass
class Quality:
    metric: str
    value: float | None  # None: too few labelled rows, or the metric is undefined on them
    labelled: int  # labels joined to a captured prediction
    unmatched: int  # labels whose request was not captured
    unknown: int  # labels that are not one of the model's classes (or not a number, for regression)
    files: int = 0  # labels files read
    rejected: list[str] = field(default_factory=list)  # labels files that could not be read, and why

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _class_of(value: Any, classes: Sequence[str]) -> str | None:
    text = str(value).strip()
    if text in classes:
        return text
    lowered = {c.lower(): c for c in classes}
    if text.lower() in lowered:
        return lowered[text.lower()]
    if set(lowered) == {"true", "false"}:
        if text.lower() in _TRUE:
            return lowered["true"]
        if text.lower() in _FALSE:
            return lowered["false"]
    return None


def live_quality(
    *, metric: str, outputs: dict[tuple[str, int], Any], labels: dict[tuple[str, int], Any], min_rows: int = 1
) -> Quality:
    """``metric`` over the labels that have a captured output (``Traffic.by_inference``)."""
    pairs = [(truth, outputs[key]) for key, truth in labels.items() if key in outputs]
    unmatched = len(labels) - len(pairs)
    if metric in REGRESSION_METRICS:
        truth_values, predicted = [], []
        unknown = 0
        for truth, output in pairs:
            try:
                t, p = float(truth), float(output["prediction"] if isinstance(output, dict) else output)
            except (TypeError, ValueError, KeyError):
                unknown += 1
                continue
            truth_values.append(t)
            predicted.append(p)
        measured = regression(metric, truth_values, predicted) if len(truth_values) >= max(min_rows, 1) else None
        return Quality(metric, measured, len(truth_values), unmatched, unknown)
    if metric not in CLASSIFICATION_METRICS:
        raise ValueError(
            f"no live computation of {metric!r}: one of {sorted(CLASSIFICATION_METRICS | REGRESSION_METRICS)}"
        )
    truth_classes: list[str] = []
    probabilities: list[dict[str, float]] = []
    predicted_classes: list[str] = []
    unknown = 0
    for truth, output in pairs:
        probs = output.get("probabilities") if isinstance(output, dict) else None
        classes = list(probs) if isinstance(probs, dict) else []
        label = _class_of(truth, classes)
        if label is None:
            unknown += 1
            continue
        truth_classes.append(label)
        probabilities.append(probs)  # type: ignore[arg-type]
        predicted_classes.append(str(output.get("prediction")))
    classes = list(probabilities[0]) if probabilities else []
    value: float | None = None
    if len(truth_classes) >= max(min_rows, 1):
        if metric == "accuracy":
            value = accuracy(truth_classes, predicted_classes)
        elif metric == "macro_f1":
            value = macro_f1(truth_classes, predicted_classes, classes)
        elif metric == "roc_auc":
            value = roc_auc(truth_classes, probabilities, classes)
        else:
            value = log_loss(truth_classes, probabilities)
    return Quality(metric, value, len(truth_classes), unmatched, unknown)
