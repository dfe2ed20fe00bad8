"""From the data contract (as JSON) to model features: which columns, their kinds, the preprocessing.

The same spec is saved with the model and drives the inference input schema, so training and serving
can never disagree about the features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

CLASSIFICATION = ("binary_classification", "multiclass_classification")


class FeatureError(ValueError):
    """The contract gives nothing to train on, or the data does not fit it."""


@dataclass
class FeatureSpec:
    dataset: str
    target: str
    problem_type: str
    primary_metric: str
    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # column → known categories
    boolean: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.boolean, *self.categorical]

    @property
    def is_classification(self) -> bool:
        return self.problem_type in CLASSIFICATION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(**data)

    def input_schema(self) -> dict[str, Any]:
        """JSON schema of one inference record."""
        properties: dict[str, Any] = {c: {"type": ["number", "null"]} for c in self.numeric}
        properties.update({c: {"type": ["boolean", "null"]} for c in self.boolean})
        properties.update({c: {"enum": [*values, None]} for c, values in self.categorical.items()})
        return {"type": "object", "properties": properties, "required": self.features}


def feature_spec(contract: dict[str, Any]) -> FeatureSpec:
    """Features = the contract's columns that may be learned from.

    Left out: the target, unique columns (ids), PII (hashed or dropped), dates and times, free-text strings
    (strings without ``allowed_values``), and anything the target lists in ``exclude_features``.
    """
    target = contract.get("target")
    if not target:
        raise FeatureError(f"the contract of {contract.get('dataset')!r} has no target: nothing to train")
    excluded = set(target.get("exclude_features", []))
    spec = FeatureSpec(
        dataset=contract["dataset"],
        target=target["column"],
        problem_type=target["problem_type"],
        primary_metric=target["primary_metric"],
        thresholds=dict(target.get("thresholds", {})),
    )
    for column in contract["columns"]:
        name = column["name"]
        if name == spec.target or name in excluded or column.get("unique") or column.get("pii", "keep") != "keep":
            continue
        kind = column["type"]
        if kind in ("integer", "float"):
            spec.numeric.append(name)
        elif kind == "boolean":
            spec.boolean.append(name)
        elif kind == "string" and column.get("allowed_values"):
            spec.categorical[name] = [str(v) for v in column["allowed_values"]]
    if not spec.features:
        raise FeatureError(f"the contract of {spec.dataset!r} leaves no feature to learn from")
    return spec


def feature_frame(data: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The model's input: feature columns in order, as float (numbers, booleans) or object (categories)."""
    missing = [c for c in spec.features if c not in data.columns]
    if missing:
        raise FeatureError(f"missing feature column(s): {', '.join(missing)}")
    out = pd.DataFrame(index=data.index)
    for c in spec.numeric:
        out[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
    for c in spec.boolean:
        out[c] = data[c].map({True: 1.0, False: 0.0}).astype("float64")  # 1 / 0 hash like True / False
    for c in spec.categorical:
        # Missing categories become "" (an unknown category: all-zero one-hot), which ONNX handles too.
        values = data[c].astype(object)
        out[c] = values.where(values.notna(), "").astype(str).astype(object)
    return out


def target_values(data: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    y = data[spec.target]
    if y.isna().any():
        raise FeatureError(f"{int(y.isna().sum())} row(s) have no target ({spec.target}): drop them before training")
    if spec.is_classification:
        return y.astype(str)
    return pd.to_numeric(y, errors="raise").astype("float64")
