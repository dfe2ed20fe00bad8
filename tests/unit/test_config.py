import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from sagelane.config import load_config, load_project
from sagelane.errors import ConfigError, UnknownDatasetError


@pytest.fixture
def sandbox(root, tmp_path) -> Path:
    shutil.copytree(root / "config", tmp_path / "config")
    shutil.copytree(root / "contracts", tmp_path / "contracts")
    return tmp_path


def test_dev_and_prod_configs_load_with_their_contracts(root):
    for env in ("dev", "prod"):
        project = load_project(env, root)
        assert project.config.name == env
        assert set(project.contracts) == {"penguins", "churn"}
    assert load_config("prod", root).lake.removal_policy == "retain"


def test_config_is_frozen(project):
    with pytest.raises(ValidationError, match="frozen"):
        project.config.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("lambda_max_object_mb: 1024", "lambda_max_object_mb: -3"),
            "ingest.lambda_max_object_mb: Input should be greater than or equal to 1",
        ),
        (lambda t: t.replace("retention_days: 14", "retention_days: 13"), "logging.retention_days: Input should be"),
        (lambda t: t + "surprise: 1\n", "surprise: Extra inputs are not permitted"),
        (lambda t: t.replace("removal_policy: destroy", "removal_policy: maybe"), "lake.removal_policy"),
        (lambda t: t.replace("name: dev", "name: stage"), "name: is 'stage' but the file is for environment 'dev'"),
        (lambda t: t.replace("contracts/churn.yaml", "contracts/missing.yaml"), "datasets.1.contract"),
        (lambda t: t.replace("- name: churn", "- name: penguins"), "dataset names must be unique"),
        (lambda t: t.replace("max_uncompressed_mb: 4096", "max_uncompressed_mb: 20000"), "max_uncompressed_mb"),
        (
            lambda t: t.replace("memory_mb: 2048", "memory_mb: 2048\n      instance_type: ml.m5.large"),
            "models.0.serving: instance_type: not a setting of mode 'serverless'",
        ),
        (lambda t: t.replace("memory_mb: 2048", "memory_mb: 1500"), "models.0.serving.memory_mb"),
        (
            lambda t: t.replace("max_concurrency: 5", "max_concurrency: 5\n      provisioned_concurrency: 9"),
            "provisioned_concurrency must not exceed max_concurrency",
        ),
        (lambda t: t.replace("max_instance_count: 2", "max_instance_count: 0"), "max_instance_count"),
        (
            lambda t: t.replace(
                "mode: serverless\n      memory_mb: 2048\n      max_concurrency: 5",
                "mode: instance\n      instance_type: ml.g5.xlarge",
            ),
            "only xgboost models have a GPU inference image; serve logistic_regression on a CPU instance",
        ),
    ],
)
def test_bad_config_names_the_file_and_the_field(sandbox, edit, expected):
    path = sandbox / "config" / "dev.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError) as error:
        load_project("dev", sandbox)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unknown_environment_lists_the_available_ones(sandbox):
    with pytest.raises(ConfigError, match=r"no config for environment 'qa' \(available: dev, prod\)"):
        load_config("qa", sandbox)


def test_contract_for_another_dataset_is_refused(sandbox):
    path = sandbox / "config" / "dev.yaml"
    path.write_text(path.read_text().replace("contracts/churn.yaml", "contracts/penguins.yaml"))
    with pytest.raises(ConfigError, match="describes dataset 'penguins', not 'churn'"):
        load_project("dev", sandbox)


def test_unknown_dataset_lists_the_known_ones(project):
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'iris'; this environment has: churn, penguins"):
        project.contract("iris")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("removal_policy: retain", "removal_policy: destroy"), "must be retain in prod"),
        (lambda t: t.replace("paging: true", "paging: false"), "notifications.paging must be true in prod"),
        (lambda t: t.replace("auto_approve: false", "auto_approve: true"), "cannot be true in prod"),
        (
            lambda t: t.replace("github_repository: example-org/sagelane", "github_repository: nope"),
            "github_repository",
        ),
    ],
)
def test_prod_is_held_to_stricter_rules(sandbox, edit, expected):
    path = sandbox / "config" / "prod.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=expected):
        load_project("prod", sandbox)
