"""Estimators: a scikit-learn pipeline around the algorithm the hyperparameters choose."""

from __future__ import annotations

import os
from typing import Any

from features import FeatureSpec
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ALGORITHMS = ("logistic_regression", "random_forest", "xgboost")


def preprocessor(spec: FeatureSpec, *, scale: bool) -> ColumnTransformer:
    # Trees need no scaling, and skipping it keeps ONNX (float32) on the same side of every split as
    # scikit-learn / XGBoost: a scaled value rounded to float32 can cross a threshold.
    steps = [("impute", SimpleImputer(strategy="median"))] + ([("scale", StandardScaler())] if scale else [])
    numeric = Pipeline(steps)
    # Missing categories arrive as "" (see features.feature_frame): unknown, so all-zero.
    categorical = OneHotEncoder(
        categories=[spec.categorical[c] for c in spec.categorical], handle_unknown="ignore", sparse_output=False
    )
    parts = []
    if spec.numeric or spec.boolean:
        parts.append(("numeric", numeric, [*spec.numeric, *spec.boolean]))
    if spec.categorical:
        parts.append(("categorical", categorical, list(spec.categorical)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def gpu_available() -> bool:
    return int(os.environ.get("SM_NUM_GPUS", "0") or 0) > 0


def estimator(spec: FeatureSpec, hp: dict[str, Any]) -> Pipeline:
    algorithm = hp.get("algorithm", "logistic_regression")
    seed = int(hp.get("seed", 42))
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    if algorithm == "logistic_regression":
        from sklearn.linear_model import LinearRegression, LogisticRegression

        model: Any = (
            LogisticRegression(C=float(hp.get("C", 1.0)), max_iter=int(hp.get("max_iter", 2000)), random_state=seed)
            if spec.is_classification
            else LinearRegression()
        )
    elif algorithm == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if spec.is_classification else RandomForestRegressor
        model = cls(
            n_estimators=int(hp.get("n_estimators", 200)),
            max_depth=int(hp["max_depth"]) if hp.get("max_depth") else None,
            random_state=seed,
            n_jobs=-1,
        )
    else:
        import xgboost as xgb

        device = hp.get("device") or ("cuda" if gpu_available() else "cpu")
        common = dict(
            n_estimators=int(hp.get("n_estimators", 300)),
            max_depth=int(hp.get("max_depth", 5)),
            learning_rate=float(hp.get("learning_rate", 0.1)),
            subsample=float(hp.get("subsample", 0.9)),
            tree_method="hist",
            # explicit: ONNX converters read a fixed base_score correctly, not the one XGBoost >= 2 estimates
            base_score=float(hp.get("base_score", 0.5)),
            device=device,
            random_state=seed,
            n_jobs=int(hp.get("n_jobs", 0)) or None,
        )
        model = xgb.XGBClassifier(**common) if spec.is_classification else xgb.XGBRegressor(**common)
    return Pipeline([("features", preprocessor(spec, scale=algorithm == "logistic_regression")), ("model", model)])
