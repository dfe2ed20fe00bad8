from pathlib import Path

import pytest

from sagelane.contract import Contract, load_contract
from sagelane.errors import ContractError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_shipped_contracts_load_and_have_stable_fingerprints(root):
    # given the two shipped contracts
    first = {p.stem: load_contract(p).fingerprint for p in (root / "contracts").glob("*.yaml")}
    # when loaded again, then the fingerprints are identical (they go into lineage)
    second = {p.stem: load_contract(p).fingerprint for p in (root / "contracts").glob("*.yaml")}
    assert set(first) == {"penguins", "churn"}
    assert first == second
    assert all(len(v) == 64 for v in first.values())


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("dataset: x\ncolumns: []\n", "columns: List should have at least 1 item"),
        ("dataset: Bad-Name\ncolumns: [{name: a, type: string}]\n", "dataset: String should match pattern"),
        ("dataset: x\ncolumns: [{name: a, type: text}]\n", "columns.0.type: Input should be"),
        (
            "dataset: x\ncolumns: [{name: a, type: string, colour: red}]\n",
            "columns.0.colour: Extra inputs are not permitted",
        ),
        (
            "dataset: x\ncolumns: [{name: a, type: string, min: 1}]\n",
            "'min' / 'max' apply to integer and float columns",
        ),
        (
            "dataset: x\ncolumns: [{name: a, type: integer, min: 5, max: 1}]\n",
            "'min' (5.0) is greater than 'max' (1.0)",
        ),
        ("dataset: x\ncolumns: [{name: a, type: string, pattern: '(['}]\n", "is not a valid regular expression"),
        ("dataset: x\ncolumns: [{name: a, type: string}, {name: a, type: integer}]\n", "repeated: a"),
        (
            "dataset: x\ncolumns: [{name: a, type: string}]\n"
            "target: {column: b, problem_type: regression, primary_metric: rmse}\n",
            "target column 'b' is not one of the columns",
        ),
        (
            "dataset: x\ncolumns: [{name: a, type: string}]\nrules: {freshness: {column: a, max_age_days: 1}}\n",
            "freshness column 'a' must be a date or datetime column",
        ),
        ("dataset: x\ncolumns: [{name: a, type: integer, pii: hash}]\n", "'pii: hash' applies to string columns"),
        ("dataset: x\ncolumns: [{name: a, type: string, nullable: false, min_non_null_ratio: 0.5}]\n", "not both"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("dataset: x\ncolumns: [\n", "not valid YAML (line"),
    ],
)
def test_invalid_contract_names_file_field_and_problem(tmp_path, yaml_text, expected):
    path = write(tmp_path, yaml_text)
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_missing_contract_file_is_a_clear_error(tmp_path):
    with pytest.raises(ContractError, match="file not found"):
        load_contract(tmp_path / "nope.yaml")


def test_curated_columns_leave_out_dropped_pii(churn):
    names = [c.name for c in churn.curated_columns]
    assert "phone" not in names and "email" in names


def test_contract_round_trips_through_json(churn):
    # the Lambda receives contracts as JSON written at synth time
    assert Contract.model_validate_json(churn.model_dump_json()).fingerprint == churn.fingerprint
