"""Environment configuration: ``config/<env>.yaml`` parsed once into frozen, validated models.

``app.py`` loads it and passes the objects to the stacks; nothing else reads CDK context. Datasets are
listed here with the path of their contract, so adding one needs no code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sagelane.contract import NAME_PATTERN, Contract, format_validation_error, load_contract, read_yaml, repeated
from sagelane.errors import ConfigError, ContractError, UnknownDatasetError, UnknownModelError

ENV_PATTERN = r"^[a-z][a-z0-9-]{0,9}$"  # short: it is part of bucket names


STACK_PARTS = ("DataLake", "Ingest", "Training", "Serving", "Monitoring")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    contract: str  # path relative to the repository root


class GlueConfig(_Strict):
    """The Spark engine's Glue job: objects above ``ingest.lambda_max_object_mb`` are validated there."""

    worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X"] = "G.1X"
    number_of_workers: Annotated[int, Field(ge=2, le=299)] = 10
    timeout_minutes: Annotated[int, Field(ge=5, le=2880)] = 120
    # Runs at once (large files arriving together, a backfill); more wait in the workflow's retries.
    max_concurrent_runs: Annotated[int, Field(ge=1, le=1000)] = 10
    # The Spark engine's own bounds (a bigger file is refused, not attempted).
    max_object_gb: Annotated[int, Field(ge=1, le=5_000)] = 500
    # Gzip is not splittable: one worker inflates it (once to check it, once to read it).
    max_uncompressed_gb: Annotated[int, Field(ge=1, le=20_000)] = 2000


class IngestConfig(_Strict):
    # Objects larger than this go to the Spark engine (the Glue job) instead of the Lambda.
    lambda_max_object_mb: Annotated[int, Field(ge=1, le=10_240)] = 1024
    # Gzip inputs may not inflate beyond this (a decompression bomb is refused, not attempted).
    max_uncompressed_mb: Annotated[int, Field(ge=1, le=10_240)] = 4096
    validate_memory_mb: Annotated[int, Field(ge=512, le=10_240)] = 4096
    curate_memory_mb: Annotated[int, Field(ge=512, le=10_240)] = 4096
    lambda_timeout_s: Annotated[int, Field(ge=30, le=900)] = 900
    ephemeral_storage_mb: Annotated[int, Field(ge=512, le=10_240)] = 10_240
    # How long a processed object's idempotency record is kept.
    dedup_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 400
    glue: GlueConfig = GlueConfig()
    # Objects a backfill ingests at once (each is one ingest run; large ones each start a Glue run).
    backfill_concurrency: Annotated[int, Field(ge=1, le=1000)] = 10

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
    # A paging topic that only the alarms (endpoint errors / latency / throttling, drift, quality) publish to,
    # for an on-call tool (subscribe its e-mail or HTTPS integration); required in prod.
    paging: bool = False
    paging_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []


Algorithm = Literal["logistic_regression", "random_forest", "xgboost"]
InstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[0-9]*[a-z]+$")]


# Instance families with local NVMe storage: SageMaker rejects a KMS key for their storage volume.
_INSTANCE_STORAGE_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "trn1", "inf2")


def is_gpu(instance_type: str) -> bool:
    return instance_type.split(".")[1].startswith(("g", "p"))


def has_instance_storage(instance_type: str) -> bool:
    family = instance_type.split(".")[1]
    return family in _INSTANCE_STORAGE_FAMILIES or (family[-1] == "d" and family[:-1].isalnum())


class ServingConfig(_Strict):
    """How an approved version is served: a serverless endpoint, or instances (CPU or GPU).

    Serverless bills per request and scales to zero (cold starts); instances bill per hour, hold the
    model warm, scale on traffic and can use a GPU. See docs/serving.md for the trade-off and costs.
    """

    mode: Literal["serverless", "instance"] = "serverless"
    # serverless: memory of each concurrent copy, how many copies at most, how many kept warm
    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: Annotated[int, Field(ge=1, le=200)] = 20
    provisioned_concurrency: Annotated[int, Field(ge=1, le=200)] | None = None
    # instance: type (ml.g4dn.* / ml.g5.* serve XGBoost on the GPU image), count, autoscaling bound
    instance_type: InstanceType = "ml.m5.large"
    instance_count: Annotated[int, Field(ge=1, le=20)] = 1
    max_instance_count: Annotated[int, Field(ge=1, le=40)] | None = None
    # invocations per instance per minute the autoscaling policy holds the fleet at
    target_invocations_per_instance: Annotated[int, Field(ge=1, le=100_000)] = 600
    # percentage of requests captured for monitoring (0 disables): SageMaker data capture on instance
    # endpoints, the kit's own capture in the container on serverless ones
    data_capture_percent: Annotated[int, Field(ge=0, le=100)] = 0
    # blue/green rollout: traffic share of the canary step and how long each step bakes
    canary_percent: Annotated[int, Field(ge=1, le=50)] = 10
    bake_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    # endpoint alarms (notify, and roll a deployment back while it bakes)
    max_5xx_per_minute: Annotated[int, Field(ge=1)] = 5
    max_p99_latency_ms: Annotated[int, Field(ge=1, le=60_000)] = 1000
    # how often the deploy workflow polls an endpoint that is being created or updated
    poll_seconds: Annotated[int, Field(ge=1, le=600)] = 30

    @model_validator(mode="after")
    def _fields_match_the_mode(self) -> ServingConfig:
        serverless_only = {"memory_mb", "max_concurrency", "provisioned_concurrency"}
        instance_only = {
            "instance_type",
            "instance_count",
            "max_instance_count",
            "target_invocations_per_instance",
            "canary_percent",
        }
        wrong = sorted((instance_only if self.mode == "serverless" else serverless_only) & self.model_fields_set)
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: not a setting of mode {self.mode!r}")
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError("provisioned_concurrency must not exceed max_concurrency")
        if self.max_instance_count is not None and self.max_instance_count < self.instance_count:
            raise ValueError("max_instance_count must be at least instance_count")
        return self

    @property
    def gpu(self) -> bool:
        return self.mode == "instance" and is_gpu(self.instance_type)

    @property
    def autoscaling_max(self) -> int:
        return self.max_instance_count or self.instance_count


Scalar = str | int | float | bool


class MonitoringConfig(_Strict):
    """Drift of the live traffic against the live version's training baseline, its quality against
    ground-truth labels, and what an alarm does."""

    # EventBridge schedule of the drift check; the drift alarm's period follows it
    schedule: Annotated[str, Field(pattern=r"^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$")] = "rate(1 hour)"
    # captured traffic of the last N hours is compared (a window longer than the schedule smooths)
    window_hours: Annotated[int, Field(ge=1, le=168)] = 24
    # fewer rows than this in the window: no drift figure (too noisy), only MonitoredRows
    min_rows: Annotated[int, Field(ge=1)] = 200
    # the drift alarm: the largest PSI of any feature or of the predictions
    max_psi: Annotated[float, Field(gt=0.0, le=10.0)] = 0.25
    # live quality from ground-truth labels: the contract's primary metric on at least this many labelled
    # rows, alarmed past quality_threshold (default: the contract's threshold for its primary metric)
    min_labelled_rows: Annotated[int, Field(ge=1)] = 50
    quality_threshold: float | None = None
    # labels may arrive up to this long after their prediction (how far back captured traffic is joined)
    label_delay_hours: Annotated[int, Field(ge=0, le=720)] = 72
    # a drift or quality alarm starts the train workflow (coalesced with a running training)
    retrain_on_alarm: bool = True

    @property
    def period_seconds(self) -> int:
        amount, unit = self.schedule[5:-1].split()
        return int(amount) * {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]


class ModelConfig(_Strict):
    """One model trained from one dataset (the dataset's contract gives target, features and thresholds)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")]
    dataset: Annotated[str, Field(pattern=NAME_PATTERN)]
    algorithm: Algorithm = "logistic_regression"
    hyperparameters: dict[str, Scalar] = {}
    # ml.g4dn.* / ml.g5.* run XGBoost on the GPU (device=cuda) in the GPU container.
    instance_type: InstanceType = "ml.m5.large"
    instance_count: Annotated[int, Field(ge=1, le=20)] = 1
    volume_gb: Annotated[int, Field(ge=1, le=16384)] = 30
    max_runtime_s: Annotated[int, Field(ge=60, le=28 * 86400)] = 3600
    spot: bool = False
    max_wait_s: Annotated[int, Field(ge=60)] | None = None
    # EventBridge schedule expression, e.g. "rate(7 days)" or "cron(0 3 ? * MON *)".
    schedule: Annotated[str, Field(pattern=r"^(rate|cron)\(.+\)$")] | None = None
    # A candidate may trail the champion's primary metric by this much and still be registered.
    champion_tolerance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    serving: ServingConfig = ServingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()

    @model_validator(mode="after")
    def _spot_needs_a_wait(self) -> ModelConfig:
        if self.serving.gpu and self.algorithm != "xgboost":
            raise ValueError(
                f"serving.instance_type {self.serving.instance_type}: only xgboost models have a GPU inference image; "
                f"serve {self.algorithm} on a CPU instance type or serverless"
            )
        if self.spot and (self.max_wait_s is None or self.max_wait_s < self.max_runtime_s):
            raise ValueError("spot training needs max_wait_s >= max_runtime_s")
        if not self.spot and self.max_wait_s is not None:
            raise ValueError("max_wait_s only applies to spot training (spot: true)")
        return self

    @property
    def gpu(self) -> bool:
        return is_gpu(self.instance_type)


class TrainingConfig(_Strict):
    # Register candidates as Approved without a person (never in prod: only approvers may approve there).
    auto_approve: bool = False
    # A run waits this long before reading the data, so a burst of files lands in one training.
    coalesce_seconds: Annotated[int, Field(ge=0, le=3600)] = 60


class DeliveryConfig(_Strict):
    """The GitHub Actions pipeline's way into this environment (a SageLane-<env>-Delivery stack)."""

    # owner/name of the repository whose workflow deploys this environment (your fork of the kit)
    github_repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    # An account has one GitHub OIDC provider: create it with the first environment deployed there only.
    create_oidc_provider: bool = True
    # The qualifier of the account's CDK bootstrap (cdk bootstrap --qualifier); the default is CDK's.
    cdk_qualifier: Annotated[str, Field(pattern=r"^[a-z0-9]{1,10}$")] = "hnb659fds"


class LoggingConfig(_Strict):
    retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653] = 30


class EnvConfig(_Strict):
    name: Annotated[str, Field(pattern=ENV_PATTERN)]
    datasets: Annotated[list[DatasetConfig], Field(min_length=1)]
    ingest: IngestConfig = IngestConfig()
    lake: LakeConfig = LakeConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    logging: LoggingConfig = LoggingConfig()
    models: list[ModelConfig] = []
    training: TrainingConfig = TrainingConfig()
    delivery: DeliveryConfig | None = None

    @model_validator(mode="after")
    def _unique_datasets(self) -> EnvConfig:
        if duplicates := repeated([d.name for d in self.datasets]):
            raise ValueError(f"dataset names must be unique; repeated: {', '.join(duplicates)}")
        if duplicates := repeated([m.name for m in self.models]):
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        known = {d.name for d in self.datasets}
        for model in self.models:
            if model.dataset not in known:
                raise ValueError(f"model {model.name!r} trains on dataset {model.dataset!r}, which is not listed")
        if self.name == "prod" and self.training.auto_approve:
            raise ValueError("training.auto_approve cannot be true in prod: only approvers approve models there")
        if self.name == "prod" and self.lake.removal_policy != "retain":
            raise ValueError("lake.removal_policy must be retain in prod: data and keys outlive the stacks there")
        if self.name == "prod" and not self.notifications.paging:
            raise ValueError("notifications.paging must be true in prod: its alarms page someone")
        return self

    def model(self, name: str) -> ModelConfig:
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(m.name for m in self.models) or "none"
        raise UnknownModelError(f"unknown model {name!r}; this environment has: {known}")

    def models_of(self, dataset: str) -> list[ModelConfig]:
        return [m for m in self.models if m.dataset == dataset]

    def stack_name(self, part: str) -> str:
        return f"SageLane-{self.name}-{part}"

    def stack_names(self) -> list[str]:
        """The environment's CloudFormation stacks, in deployment order (no models: no training onwards)."""
        parts = STACK_PARTS if self.models else STACK_PARTS[:2]
        if self.delivery:
            parts = ("Delivery", *parts)
        return [self.stack_name(part) for part in parts]


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
    for index, model in enumerate(config.models):
        if contracts[model.dataset].target is None:
            raise ConfigError(
                f"{root / 'config' / f'{env}.yaml'}: models.{index}.dataset: the contract of {model.dataset!r} "
                "has no target, so no model can be trained on it"
            )
    return Project(root=root, config=config, contracts=contracts)
