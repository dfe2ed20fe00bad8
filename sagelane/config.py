"""Environment configuration: ``config/<env>.yaml`` parsed once into frozen, validated models.

``app.py`` loads it and passes the objects to the stacks; nothing else reads CDK context. Datasets are
listed here with the path of their contract, so adding one needs no code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sagelane.contract import NAME_PATTERN, Contract, format_validation_error, load_contract, read_yaml, repeated
from sagelane.errors import ConfigError, ContractError, UnknownDatasetError

ENV_PATTERN = r"^[a-z][a-z0-9-]{0,9}$"  # short: it is part of bucket names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    contract: str  # path relative to the repository root


class IngestConfig(_Strict):
    # Objects larger than this are refused by the Lambda engine (the Spark engine will take them).
    lambda_max_object_mb: Annotated[int, Field(ge=1, le=10_240)] = 1024
    # Gzip inputs may not inflate beyond this (a decompression bomb is refused, not attempted).
    max_uncompressed_mb: Annotated[int, Field(ge=1, le=10_240)] = 4096
    validate_memory_mb: Annotated[int, Field(ge=512, le=10_240)] = 4096
    curate_memory_mb: Annotated[int, Field(ge=512, le=10_240)] = 4096
    lambda_timeout_s: Annotated[int, Field(ge=30, le=900)] = 900
    ephemeral_storage_mb: Annotated[int, Field(ge=512, le=10_240)] = 10_240
    # How long a processed object's idempotency record is kept.
    dedup_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 400

    @model_validator(mode="after")
    def _storage_holds_the_data(self) -> IngestConfig:
        if self.max_uncompressed_mb > self.ephemeral_storage_mb:
            raise ValueError(
                "max_uncompressed_mb must not exceed ephemeral_storage_mb (inflated files are staged on /tmp)"
            )
        return self


class LakeConfig(_Strict):
    # RETAIN keeps buckets, key and tables when the stack is deleted; DESTROY is for throwaway envs.
    removal_policy: Literal["retain", "destroy"] = "retain"
    raw_noncurrent_version_days: Annotated[int, Field(ge=1)] = 90
    raw_transition_to_ia_days: Annotated[int, Field(ge=30)] = 30
    quarantine_expiry_days: Annotated[int, Field(ge=1)] = 365
    access_log_expiry_days: Annotated[int, Field(ge=1)] = 365


class NotificationsConfig(_Strict):
    emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []


class LoggingConfig(_Strict):
    retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653] = 30


class EnvConfig(_Strict):
    name: Annotated[str, Field(pattern=ENV_PATTERN)]
    datasets: Annotated[list[DatasetConfig], Field(min_length=1)]
    ingest: IngestConfig = IngestConfig()
    lake: LakeConfig = LakeConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _unique_datasets(self) -> EnvConfig:
        if duplicates := repeated([d.name for d in self.datasets]):
            raise ValueError(f"dataset names must be unique; repeated: {', '.join(duplicates)}")
        return self


class Project(BaseModel):
    """An environment's config with its contracts loaded: what ``app.py`` hands to the stacks."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    config: EnvConfig
    contracts: dict[str, Contract]

    def contract(self, dataset: str) -> Contract:
        try:
            return self.contracts[dataset]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise UnknownDatasetError(f"unknown dataset {dataset!r}; this environment has: {known}") from None

    def contract_path(self, dataset: str) -> Path:
        entry = next((d for d in self.config.datasets if d.name == dataset), None)
        if entry is None:
            self.contract(dataset)  # raises the uniform message
        return self.root / entry.contract  # type: ignore[union-attr]


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder upwards holding ``config/`` and ``contracts/``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "config").is_dir() and (folder / "contracts").is_dir():
            return folder
    raise ConfigError(f"no SageLane project (config/ and contracts/) found at or above {here}")


def load_config(env: str, root: Path | None = None) -> EnvConfig:
    root = root or find_root()
    path = root / "config" / f"{env}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (root / "config").glob("*.yaml"))
        raise ConfigError(f"{path}: no config for environment {env!r} (available: {', '.join(available)})")
    data = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a YAML mapping")
    try:
        config = EnvConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None
    if config.name != env:
        raise ConfigError(f"{path}: name: is {config.name!r} but the file is for environment {env!r}")
    return config


def load_project(env: str, root: Path | None = None) -> Project:
    root = root or find_root()
    config = load_config(env, root)
    contracts: dict[str, Contract] = {}
    for index, dataset in enumerate(config.datasets):
        where = f"{root / 'config' / f'{env}.yaml'}: datasets.{index}.contract"
        path = root / dataset.contract
        try:
            contract = load_contract(path)
        except ContractError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if contract.dataset != dataset.name:
            raise ConfigError(f"{where}: {path} describes dataset {contract.dataset!r}, not {dataset.name!r}")
        contracts[dataset.name] = contract
    return Project(root=root, config=config, contracts=contracts)
