"""PSI and KS from the baseline bins, checked against scipy and the textbook formula on known distributions."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sagelane.monitoring.drift import _numbers, categorical_drift, drift, numeric_drift

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from baseline import numeric_profile  # the training container's own module


def profile(values: np.ndarray) -> dict:
    return {**numeric_profile(values), "missing_share": 0.0}


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(7)


def reference_psi(train: np.ndarray, live: np.ndarray, edges: np.ndarray) -> float:
    """PSI as usually written: the same bins, counted with numpy.histogram (out of range clipped in)."""
    live = np.clip(live, edges[0], edges[-1])
    e = np.maximum(np.histogram(train, edges)[0] / len(train), 1e-4)
    o = np.maximum(np.histogram(live, edges)[0] / len(live), 1e-4)
    return float(np.sum((o - e) * np.log(o / e)))


@pytest.mark.parametrize(("shift", "scale"), [(0.0, 1.0), (0.25, 1.0), (1.0, 1.0), (0.0, 2.0)])
def test_numeric_ks_and_psi_match_scipy_and_the_formula(rng, shift, scale):
    train = rng.normal(0, 1, 20_000)
    live = rng.normal(shift, scale, 10_000)
    result = numeric_drift("x", profile(train), live)
    exact = stats.ks_2samp(train, live).statistic
    assert result.ks <= exact + 0.01  # read at the decile edges: a lower bound of the exact statistic...
    assert result.ks == pytest.approx(exact, abs=0.04)  # ...within a decile's resolution
    assert result.psi == pytest.approx(
        reference_psi(train, live, np.array(profile(train)["edges"])), rel=1e-6, abs=1e-9
    )


def test_the_same_distribution_is_stable_and_a_shift_is_flagged(rng):
    train = rng.normal(50, 10, 20_000)
    base = profile(train)
    same = numeric_drift("x", base, rng.normal(50, 10, 10_000))
    shifted = numeric_drift("x", base, rng.normal(65, 10, 10_000))
    assert same.psi < 0.02 and same.ks < 0.03
    assert shifted.psi > 0.25 and shifted.ks > 0.4


def test_missing_values_and_out_of_range_values_are_counted(rng):
    train = rng.uniform(0, 1, 5_000)
    live = np.concatenate([rng.uniform(0, 1, 900), [np.nan] * 100, [5.0] * 10])
    result = numeric_drift("x", profile(train), live)
    assert result.observed["(missing)"] == pytest.approx(100 / 1010)
    assert result.rows == 1010 and sum(result.observed.values()) == pytest.approx(1.0)
    assert result.psi > 0.1  # 10 % missing where training had none


def test_categorical_drift_is_psi_and_total_variation(rng):
    base = {"shares": {"a": 0.5, "b": 0.3, "c": 0.2}}
    same = categorical_drift("c", base, list(rng.choice(["a", "b", "c"], 10_000, p=[0.5, 0.3, 0.2])))
    moved = categorical_drift("c", base, ["a"] * 200 + ["b"] * 300 + ["c"] * 400 + ["zz"] * 100)
    assert same.psi < 0.01 and same.ks < 0.02
    assert moved.observed["(unseen)"] == pytest.approx(0.1)
    assert moved.ks == pytest.approx(0.5 * (0.3 + 0.0 + 0.2 + 0.1))
    e = np.maximum([0.5, 0.3, 0.2, 0.0], 1e-4)
    o = np.array([0.2, 0.3, 0.4, 0.1])
    assert moved.psi == pytest.approx(float(np.sum((o - e) * np.log(o / e))))


def test_drift_over_records_uses_the_training_baseline(rng):
    import baseline
    from features import FeatureSpec

    spec = FeatureSpec(
        dataset="penguins",
        target="species",
        problem_type="multiclass_classification",
        primary_metric="macro_f1",
        numeric=["bill_length_mm"],
        categorical={"island": ["Biscoe", "Dream", "Torgersen"]},
    )
    frame = pd.DataFrame(
        {"bill_length_mm": rng.normal(44, 5, 3000), "island": rng.choice(["Biscoe", "Dream", "Torgersen"], 3000)}
    )
    scores = np.eye(3)[rng.integers(0, 3, 3000)]
    base = baseline.build(spec, frame, scores, ["Adelie", "Chinstrap", "Gentoo"])
    records = [{"bill_length_mm": float(v), "island": "Biscoe"} for v in rng.normal(54, 5, 1000)]
    results = {d.name: d for d in drift(base, records, predictions=["Gentoo"] * 1000)}
    assert set(results) == {"bill_length_mm", "island", "prediction"}
    assert results["bill_length_mm"].psi > 0.25 and results["island"].ks > 0.6 and results["prediction"].ks > 0.6


def test_numbers_and_booleans_from_csv_text_are_read_as_the_baseline_counts_them():
    base = {"edges": [0.0, 0.5, 1.0], "shares": [0.5, 0.5], "missing_share": 0.0}
    result = numeric_drift("autopay", base, _numbers(["true", "false", "TRUE", "0", "1.0", ""]))
    assert result.observed["(missing)"] == pytest.approx(1 / 6) and result.rows == 6
