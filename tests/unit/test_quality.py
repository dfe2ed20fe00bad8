"""Live quality: the metrics (held to scikit-learn's), labels files, the join to captured outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics

from sagelane.config import ModelConfig
from sagelane.contract import Contract
from sagelane.monitoring import quality as q


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _probabilities(rng, n: int, classes: list[str]) -> list[dict[str, float]]:
    if len(classes) == 2:  # scores rounded to two decimals: ties, as real scores have
        p = np.clip(rng.uniform(0, 1, n).round(2), 0.01, 0.99)
        raw = np.column_stack([1 - p, p])
    else:
        raw = rng.dirichlet(np.ones(len(classes)), n) + 0.01
        raw = raw / raw.sum(axis=1, keepdims=True)
    return [dict(zip(classes, row.tolist(), strict=True)) for row in raw]


@pytest.mark.parametrize("classes", [["False", "True"], ["Adelie", "Chinstrap", "Gentoo"]])
def test_classification_metrics_match_scikit_learn(rng, classes):
    probabilities = _probabilities(rng, 400, classes)
    truth = [str(c) for c in rng.choice(classes, 400)]
    predicted = [max(p, key=p.get) for p in probabilities]
    matrix = np.array([[p[c] for c in classes] for p in probabilities])
    assert q.accuracy(truth, predicted) == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert q.macro_f1(truth, predicted, classes) == pytest.approx(
        metrics.f1_score(truth, predicted, average="macro", labels=classes, zero_division=0)
    )
    if len(classes) == 2:
        expected_auc = metrics.roc_auc_score([t == classes[1] for t in truth], matrix[:, 1])
    else:
        expected_auc = metrics.roc_auc_score(truth, matrix, multi_class="ovr", average="macro", labels=classes)
    assert q.roc_auc(truth, probabilities, classes) == pytest.approx(expected_auc)
    assert q.log_loss(truth, probabilities) == pytest.approx(metrics.log_loss(truth, matrix, labels=classes))


def test_regression_metrics_match_scikit_learn(rng):
    truth = rng.normal(10, 3, 300).tolist()
    predicted = (np.array(truth) + rng.normal(0, 1, 300)).tolist()
    assert q.regression("rmse", truth, predicted) == pytest.approx(
        np.sqrt(metrics.mean_squared_error(truth, predicted))
    )
    assert q.regression("mae", truth, predicted) == pytest.approx(metrics.mean_absolute_error(truth, predicted))
    assert q.regression("r2", truth, predicted) == pytest.approx(metrics.r2_score(truth, predicted))


def test_auc_is_undefined_while_a_class_is_missing():
    assert q.roc_auc(["True", "True"], [{"False": 0.2, "True": 0.8}] * 2, ["False", "True"]) is None


def test_labels_files_in_csv_and_json_lines():
    csv_text = "inference_id,record,churned\na,0,true\na,1,false\nb,,1\nc,0,\n"
    assert q.parse_labels(csv_text, name="l.csv", target="churned") == {
        ("a", 0): "true",
        ("a", 1): "false",
        ("b", 0): "1",  # record defaults to 0; c has no truth yet and is left out
    }
    jsonl = json.dumps({"inference_id": 7, "churned": True}) + "\n" + json.dumps({"inference_id": "x", "churned": 0})
    assert q.parse_labels(jsonl, name="l.jsonl", target="churned") == {("7", 0): True, ("x", 0): 0}
    with pytest.raises(q.LabelError, match=r"l\.csv: row 1 needs the fields inference_id and churned"):
        q.parse_labels("id,churned\na,1\n", name="l.csv", target="churned")
    with pytest.raises(q.LabelError, match="record must be a whole number"):
        q.parse_labels("inference_id,record,churned\na,first,1\n", name="l.csv", target="churned")


def _output(p_true: float) -> dict:
    return {"prediction": "True" if p_true >= 0.5 else "False", "probabilities": {"False": 1 - p_true, "True": p_true}}


def test_live_quality_joins_labels_to_captured_outputs():
    outputs = {("a", 0): _output(0.9), ("a", 1): _output(0.2), ("b", 0): _output(0.7), ("c", 0): _output(0.4)}
    labels = {("a", 0): "true", ("a", 1): "False", ("b", 0): 0, ("c", 0): "yes", ("zz", 0): 1, ("c", 1): 1}
    labels[("d", 0)] = "maybe"
    outputs[("d", 0)] = _output(0.5)
    result = q.live_quality(metric="accuracy", outputs=outputs, labels=labels)
    # a0 right, a1 right, b0 wrong (0 = False, predicted True), c0 wrong (yes = True, predicted False)
    assert (result.value, result.labelled, result.unmatched, result.unknown) == (0.5, 4, 2, 1)
    assert q.live_quality(metric="accuracy", outputs=outputs, labels=labels, min_rows=5).value is None
    with pytest.raises(ValueError, match="no live computation of 'f2'"):
        q.live_quality(metric="f2", outputs=outputs, labels=labels)


def test_regression_quality_counts_labels_that_are_not_numbers():
    outputs = {("a", 0): {"prediction": 10.0}, ("b", 0): {"prediction": 4.0}}
    result = q.live_quality(metric="mae", outputs=outputs, labels={("a", 0): "12", ("b", 0): "n/a"})
    assert (result.value, result.labelled, result.unknown) == (2.0, 1, 1)


def test_the_quality_threshold_comes_from_the_contract_unless_the_config_sets_one():
    contract = Contract.model_validate(
        {
            "dataset": "churn",
            "columns": [{"name": "x", "type": "float"}, {"name": "y", "type": "boolean"}],
            "target": {
                "column": "y",
                "problem_type": "binary_classification",
                "primary_metric": "roc_auc",
                "thresholds": {"roc_auc": 0.75},
            },
        }
    )
    model = ModelConfig(name="churn", dataset="churn")
    assert q.alarm_threshold(model, contract) == 0.75
    tuned = ModelConfig.model_validate({"name": "churn", "dataset": "churn", "monitoring": {"quality_threshold": 0.8}})
    assert q.alarm_threshold(tuned, contract) == 0.8
    contract.target.thresholds.clear()
    assert q.alarm_threshold(model, contract) is None  # no threshold: no quality alarm
