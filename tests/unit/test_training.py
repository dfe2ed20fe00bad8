"""Training entry point, run locally as the SageMaker container runs it; inference on its artifact."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sagelane.samples import PENGUIN_EXAMPLES, churn_frame, write_frame
from sagelane.training.local import TrainingJobError, run_training
from sagelane.training.prepare import NotEnoughDataError, split, write_channels
from sagelane.validation import validate_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
import inference
from features import feature_spec

CHANNELS = ("train", "validation", "test", "contract")


def train(root, tmp, contract, frame, hp):
    prepared = write_channels(split(frame, contract), contract, tmp / "channels")
    return run_training(
        source_dir=root / "training",
        channels={name: prepared.channel(name) for name in CHANNELS},
        hyperparameters=hp,
        work_dir=tmp / "job",
    ), prepared


@pytest.fixture(scope="module")
def penguins_model(root, penguins, tmp_path_factory):
    frame = validate_file(root / "samples" / "penguins.csv", penguins).frame
    return train(root, tmp_path_factory.mktemp("penguins"), penguins, frame, {"algorithm": "logistic_regression"})


@pytest.fixture(scope="module")
def churn_model(root, churn, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("churn")
    frame = validate_file(write_frame(churn_frame(8000, seed=3), tmp / "churn.parquet"), churn).frame
    hp = {
        "algorithm": "xgboost",
        "n_estimators": 150,
        "champion_metrics": {"roc_auc": 0.70},
        "lineage": {"data": "s3://x"},
    }
    return train(root, tmp, churn, frame, hp)


def test_features_come_from_the_contract(penguins, churn):
    spec = feature_spec(penguins.model_dump(mode="json"))
    assert spec.target == "species" and spec.numeric == [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "year",
    ]
    assert list(spec.categorical) == ["island", "sex"]
    churn_spec = feature_spec(churn.model_dump(mode="json"))
    # ids, PII (hashed e-mail, dropped phone), dates and the target are not features
    assert set(churn_spec.features) == {
        "country",
        "plan",
        "tenure_months",
        "monthly_charges",
        "support_tickets_90d",
        "autopay",
    }


def test_the_split_is_deterministic_whatever_the_row_order(penguins, root):
    frame = validate_file(root / "samples" / "penguins.csv", penguins).frame
    first = split(frame, penguins)
    second = split(frame.reverse(), penguins)
    assert {k: v.height for k, v in first.items()} == {"train": 241, "validation": 52, "test": 51}
    for name in first:
        assert first[name].equals(second[name])


def test_too_little_labelled_data_is_a_named_error(penguins, root):
    frame = validate_file(root / "samples" / "penguins.csv", penguins).frame.head(20)
    with pytest.raises(NotEnoughDataError, match="20 labelled rows of penguins: at least 30"):
        split(frame, penguins)


def test_penguins_model_meets_its_contract_and_packs_every_artifact(penguins_model):
    result, _ = penguins_model
    metrics = result.metrics
    assert metrics["meets_thresholds"] is True, metrics["threshold_misses"]
    assert metrics["metrics"]["accuracy"] >= 0.9 and metrics["metrics"]["macro_f1"] >= 0.9
    assert set(metrics["metrics"]) >= {"accuracy", "macro_f1", "roc_auc", "log_loss", "confusion_matrix"}
    with tarfile.open(result.artifact) as tar:
        names = set(tar.getnames())
    assert names == {
        "model.joblib",
        "model.onnx",
        "metadata.json",
        "metrics.json",
        "baseline.json",
        "model_card.md",
        "model_card.html",
    }
    assert metrics["onnx"]["exported"] and metrics["onnx"]["max_abs_difference"] < 1e-5
    card = (result.model_dir / "model_card.md").read_text()
    assert "## Intended use" in card and "## Feature importance" in card and "| accuracy |" in card


def test_churn_xgboost_beats_its_threshold_with_onnx_parity(churn_model):
    result, _ = churn_model
    metrics = result.metrics
    assert metrics["metrics"]["roc_auc"] >= 0.75, metrics["metrics"]
    assert metrics["onnx"]["trusted"] and metrics["onnx"]["max_abs_difference"] < 1e-5
    assert metrics["champion_metrics"] == {"roc_auc": 0.70}
    card = (result.model_dir / "model_card.md").read_text()
    assert "| 0.7000 |" in card and "s3://x" in card  # champion column and lineage
    baseline = json.loads((result.model_dir / "baseline.json").read_text())
    assert set(baseline["features"]) == set(
        json.loads((result.model_dir / "metadata.json").read_text())["spec"]["numeric"]
    ) | {"autopay", "country", "plan"}
    assert abs(sum(baseline["prediction"]["shares"].values()) - 1) < 1e-9


def test_served_predictions_equal_the_pipeline_on_held_out_rows(penguins_model):
    import polars as pl

    result, prepared = penguins_model
    model = inference.model_fn(str(result.model_dir))
    assert model.session is not None  # the ONNX fast path is on
    rows = pl.read_parquet(prepared.channel("test") / "test.parquet").to_dicts()
    fast = model.predict(rows)
    model.session = None  # the scikit-learn fallback
    slow = model.predict(rows)
    assert [p["prediction"] for p in fast] == [p["prediction"] for p in slow]
    difference = max(
        abs(a["probabilities"][k] - b["probabilities"][k])
        for a, b in zip(fast, slow, strict=True)
        for k in a["probabilities"]
    )
    assert difference < 1e-5
    accuracy = np.mean([p["prediction"] == r["species"] for p, r in zip(fast, rows, strict=True)])
    assert accuracy >= 0.9


def test_requests_in_json_and_csv(penguins_model):
    result, _ = penguins_model
    model = inference.model_fn(str(result.model_dir))
    record = PENGUIN_EXAMPLES[0]
    body, content_type = inference.output_fn(
        inference.predict_fn(inference.input_fn(json.dumps(record), "application/json"), model), "application/json"
    )
    assert content_type == "application/json" and json.loads(body)[0]["prediction"] == "Gentoo"
    csv_body = ",".join(record) + "\n" + ",".join(str(v) for v in record.values()) + "\n"
    assert inference.predict_fn(inference.input_fn(csv_body, "text/csv"), model)[0]["prediction"] == "Gentoo"
    batch = inference.input_fn(json.dumps({"instances": [record] * 3}), "application/json")
    assert len(inference.predict_fn(batch, model)) == 3


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("{not json", "application/json", "the body is not valid JSON"),
        ('"just a string"', "application/json", "expected a JSON object"),
        ('[{"island": "Mars"}]', "application/json", "missing field 'bill_length_mm'"),
        ("island\nBiscoe\n", "text/csv", "missing field"),
        ("<xml/>", "application/xml", "unsupported content type 'application/xml'"),
        ("[]", "application/json", "no records in the request"),
    ],
)
def test_malformed_requests_are_client_errors_naming_the_problem(penguins_model, body, content_type, message):
    model = inference.model_fn(str(penguins_model[0].model_dir))
    with pytest.raises(inference.InputError, match=message):
        inference.predict_fn(inference.input_fn(body, content_type), model)


def test_a_failing_training_script_reports_its_reason(root, penguins, tmp_path):
    frame = validate_file(root / "samples" / "penguins.csv", penguins).frame
    prepared = write_channels(split(frame, penguins), penguins, tmp_path / "c")
    with pytest.raises(TrainingJobError, match="unknown algorithm 'quantum'"):
        run_training(
            source_dir=root / "training",
            channels={n: prepared.channel(n) for n in CHANNELS},
            hyperparameters={"algorithm": "quantum"},
            work_dir=tmp_path / "job",
        )
    assert (tmp_path / "job" / "output" / "failure").read_text().startswith("ValueError: unknown algorithm")
    with pytest.raises(TrainingJobError, match="no 'contract' channel"):
        run_training(
            source_dir=root / "training",
            channels={n: prepared.channel(n) for n in CHANNELS[:3]},
            hyperparameters={},
            work_dir=tmp_path / "job2",
        )
