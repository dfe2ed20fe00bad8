"""SageMaker script-mode training entry point (also run locally by ``sagelane.training.local``).

Reads the SageMaker environment contract, trains the model the hyperparameters choose on the features
the contract allows, evaluates it on the held-out test split, and writes into ``SM_MODEL_DIR``:
``model.joblib`` (the scikit-learn pipeline), ``model.onnx`` (fast path, with a parity report),
``metadata.json`` (features, classes, input schema), ``metrics.json``, ``baseline.json`` (drift) and
``model_card.md`` / ``.html``. ``metrics.json`` also goes to ``SM_OUTPUT_DATA_DIR``. A failure writes
its reason to ``SM_OUTPUT_DIR/failure``, which SageMaker reports as the job's FailureReason.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "test")


@dataclass
class SageMakerEnv:
    channels: dict[str, Path]
    model_dir: Path
    output_data_dir: Path
    output_dir: Path
    hyperparameters: dict[str, Any]

    @classmethod
    def from_environ(cls) -> SageMakerEnv:
        channels = {
            name[len("SM_CHANNEL_") :].lower(): Path(value)
            for name, value in os.environ.items()
            if name.startswith("SM_CHANNEL_")
        }
        return cls(
            channels=channels,
            model_dir=Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")),
            output_data_dir=Path(os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
            output_dir=Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")),
            hyperparameters=_hyperparameters(os.environ.get("SM_HPS", "{}")),
        )


def _hyperparameters(text: str) -> dict[str, Any]:
    values = json.loads(text or "{}")
    # SageMaker passes every hyperparameter as a string; JSON-looking ones (lineage, champion) are decoded.
    out = {}
    for key, value in values.items():
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        out[key] = value
    return out


def read_channel(folder: Path):  # -> pandas.DataFrame
    import pandas as pd

    files = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    if not files:
        raise FileNotFoundError(f"channel {folder.name}: no Parquet file in {folder}")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def train(env: SageMakerEnv) -> dict[str, Any]:
    import baseline
    import joblib
    import model_card
    import numpy as np
    import onnx_export
    import sklearn
    from evaluate import evaluate, meets_thresholds
    from features import feature_frame, feature_spec, target_values
    from models import estimator

    started = time.perf_counter()
    hp = env.hyperparameters
    if "contract" not in env.channels:
        raise FileNotFoundError("no 'contract' channel: the contract (contract.json) is a required input")
    contract = json.loads((env.channels["contract"] / "contract.json").read_text())
    spec = feature_spec(contract)
    missing = [s for s in ("train", "test") if s not in env.channels]
    if missing:
        raise FileNotFoundError(f"missing channel(s): {', '.join(missing)}")
    data = {s: read_channel(env.channels[s]) for s in SPLITS if s in env.channels}
    frames = {s: feature_frame(d, spec) for s, d in data.items()}
    targets = {s: target_values(d, spec) for s, d in data.items()}

    classes: list[str] = []
    if spec.is_classification:
        classes = sorted(targets["train"].unique().tolist())
        if len(classes) < 2:
            raise ValueError(f"the training split has a single class ({classes}): nothing to learn")
        lookup = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set().union(*(set(t.unique()) for t in targets.values())) - set(lookup))
        if unknown:
            raise ValueError(f"classes in validation/test not seen in training: {unknown}")
        y = {s: t.map(lookup).to_numpy(dtype=np.int64) for s, t in targets.items()}
    else:
        y = {s: t.to_numpy() for s, t in targets.items()}

    model = estimator(spec, hp)
    fit_started = time.perf_counter()
    model.fit(frames["train"], y["train"])
    fit_seconds = time.perf_counter() - fit_started

    def scores(split: str):
        return model.predict_proba(frames[split]) if spec.is_classification else model.predict(frames[split])

    test_metrics = evaluate(spec, y["test"], scores("test"), classes)
    validation_metrics = (
        evaluate(spec, y["validation"], scores("validation"), classes) if "validation" in frames else {}
    )
    misses = meets_thresholds(test_metrics, spec.thresholds)

    env.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, env.model_dir / "model.joblib")
    sample = frames["test"].head(1000)
    onnx_bytes, parity = onnx_export.export(model, spec, sample)
    if onnx_bytes is not None:
        (env.model_dir / "model.onnx").write_bytes(onnx_bytes)
    importance = _importance(model, frames.get("validation", frames["test"]), y.get("validation", y["test"]), spec, hp)
    rows = {s: len(d) for s, d in data.items()}
    versions = {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__}
    if hp.get("algorithm") == "xgboost":
        import xgboost

        versions["xgboost"] = xgboost.__version__
    training_info = {
        "algorithm": hp.get("algorithm", "logistic_regression"),
        "hyperparameters": {k: v for k, v in hp.items() if k not in ("lineage", "champion_metrics")},
        "fit_seconds": round(fit_seconds, 3),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions,
    }
    metadata = {
        "spec": spec.to_dict(),
        "classes": classes,
        "input_schema": spec.input_schema(),
        "onnx": parity,
        "training": training_info,
        "contract_version": contract.get("version"),
    }
    champion = hp.get("champion_metrics") or None
    result = {
        "metrics": test_metrics,
        "validation_metrics": validation_metrics,
        "primary_metric": spec.primary_metric,
        "thresholds": spec.thresholds,
        "threshold_misses": misses,
        "meets_thresholds": not misses,
        "champion_metrics": champion,
        "rows": rows,
        "onnx": parity,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (env.model_dir / "metadata.json").write_text(json.dumps(metadata, indent=2))
    (env.model_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    (env.model_dir / "baseline.json").write_text(
        json.dumps(baseline.build(spec, frames["train"], scores("train"), classes), indent=2)
    )
    card = model_card.markdown(
        spec=spec,
        contract=contract,
        metrics=test_metrics,
        validation_metrics=validation_metrics,
        champion=champion,
        importance=importance,
        rows=rows,
        onnx=parity,
        training=training_info,
        lineage=hp.get("lineage") or {},
    )
    (env.model_dir / "model_card.md").write_text(card)
    (env.model_dir / "model_card.html").write_text(model_card.to_html(card))
    env.output_data_dir.mkdir(parents=True, exist_ok=True)
    (env.output_data_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


def _importance(model, frame, y, spec, hp) -> list[tuple[str, float]]:
    from sklearn.inspection import permutation_importance

    rows = min(len(frame), int(hp.get("importance_rows", 2000)))
    if rows == 0:
        return []
    scoring = "neg_log_loss" if spec.is_classification else "neg_root_mean_squared_error"
    try:
        result = permutation_importance(
            model, frame.head(rows), y[:rows], scoring=scoring, n_repeats=3, random_state=0, n_jobs=1
        )
    except ValueError:  # e.g. a class missing from the sample: importance is informative, not essential
        return []
    pairs = sorted(zip(frame.columns, result.importances_mean, strict=True), key=lambda p: -p[1])
    return [(str(name), float(value)) for name, value in pairs]


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    env = SageMakerEnv.from_environ()
    try:
        result = train(env)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        env.output_dir.mkdir(parents=True, exist_ok=True)
        (env.output_dir / "failure").write_text(reason[:1024])
        traceback.print_exc()
        print(f"training failed: {reason}", file=sys.stderr)
        return 1
    primary = result["metrics"].get(result["primary_metric"])
    print(f"trained: {result['primary_metric']}={primary} meets_thresholds={result['meets_thresholds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
