"""ONNX export of the fitted pipeline, with a parity check against scikit-learn on held-out rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from features import FeatureSpec
from sklearn.pipeline import Pipeline


def onnx_inputs(frame: pd.DataFrame, spec: FeatureSpec) -> dict[str, np.ndarray]:
    """One input per column, shaped (n, 1): float32 for numbers, strings for categories."""
    inputs = {}
    for c in [*spec.numeric, *spec.boolean]:
        inputs[c] = frame[c].to_numpy(dtype=np.float32).reshape(-1, 1)
    for c in spec.categorical:
        inputs[c] = frame[c].to_numpy(dtype=object).reshape(-1, 1)
    return inputs


def export(model: Pipeline, spec: FeatureSpec, sample: pd.DataFrame) -> tuple[bytes | None, dict[str, Any]]:
    """(ONNX bytes, parity report). Never raises: a model that cannot be exported is served by scikit-learn."""
    try:
        onnx_bytes = _convert(model, spec)
    except Exception as exc:
        return None, {"exported": False, "reason": f"{type(exc).__name__}: {exc}"[:500]}
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        outputs = session.run(None, onnx_inputs(sample, spec))
        reference = model.predict_proba(sample) if spec.is_classification else model.predict(sample)
        if spec.is_classification:
            onnx_proba = _probabilities(outputs[1], reference.shape[1])
            difference = float(np.max(np.abs(onnx_proba - reference))) if len(sample) else 0.0
            labels_agree = float(np.mean(onnx_proba.argmax(axis=1) == reference.argmax(axis=1))) if len(sample) else 1.0
        else:
            onnx_pred = np.asarray(outputs[0]).reshape(-1)
            difference = float(np.max(np.abs(onnx_pred - reference))) if len(sample) else 0.0
            labels_agree = None
    except Exception as exc:
        return None, {"exported": False, "reason": f"parity check failed: {type(exc).__name__}: {exc}"[:500]}
    report = {"exported": True, "rows_compared": len(sample), "max_abs_difference": difference}
    if labels_agree is not None:
        report["label_agreement"] = labels_agree
    # float32 inside ONNX: differences around 1e-6 are expected; beyond 1e-3 the fast path is not trusted.
    report["trusted"] = difference <= 1e-3
    return onnx_bytes, report


def _probabilities(raw: Any, n_classes: int) -> np.ndarray:
    if isinstance(raw, list):  # ZipMap output: one dict per row
        return np.array([[row[k] for k in sorted(row)] for row in raw], dtype=np.float64)
    return np.asarray(raw, dtype=np.float64).reshape(-1, n_classes)


def _convert(model: Pipeline, spec: FeatureSpec) -> bytes:
    from skl2onnx import convert_sklearn, update_registered_converter
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    estimator = model.named_steps["model"]
    if type(estimator).__module__.startswith("xgboost"):
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )

        shape = (
            calculate_linear_classifier_output_shapes
            if spec.is_classification
            else calculate_linear_regressor_output_shapes
        )
        update_registered_converter(
            type(estimator),
            f"Xgboost{type(estimator).__name__}",
            shape,
            convert_xgboost,
            options={"nocl": [True, False], "zipmap": [True, False, "columns"]} if spec.is_classification else None,
        )
    initial = [(c, FloatTensorType([None, 1])) for c in [*spec.numeric, *spec.boolean]]
    initial += [(c, StringTensorType([None, 1])) for c in spec.categorical]
    options = {id(estimator): {"zipmap": False}} if spec.is_classification else None
    onnx_model = convert_sklearn(model, initial_types=initial, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    return onnx_model.SerializeToString()
