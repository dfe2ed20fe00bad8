"""One drift check of a model's live version: its baseline, the captured traffic, the metrics.

Follows the endpoint to the version it serves (endpoint → config → Model → model package → artifact),
reads ``baseline.json`` from that artifact, reads the traffic captured in the window, computes PSI / KS
per feature and on predictions, and publishes them to CloudWatch (namespace ``SageLane/<env>``):

- ``FeaturePSI`` / ``FeatureKS`` with dimensions ``Model``, ``Feature`` (``prediction`` included);
- ``MaxPSI`` / ``MaxKS`` and ``MonitoredRows`` with dimension ``Model``: what the drift alarm watches.

With ground-truth labels (:mod:`sagelane.monitoring.quality`) it also publishes the live primary metric,
``LiveMetric`` (dimensions ``Model``, ``Metric``: what the quality alarm watches), and ``LabelledRows``.

Metrics go through ``PutMetricData`` (not EMF log lines) so that the embedded AWS, which evaluates
alarms from metric data, sees exactly what CloudWatch sees.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sagelane.errors import SageLaneError
from sagelane.monitoring.capture import Traffic, read_s3
from sagelane.monitoring.drift import Drift, drift
from sagelane.monitoring.quality import LABELS_PREFIX, Quality, live_quality, read_labels
from sagelane.serving.deploy import LIVE_VARIANT

if TYPE_CHECKING:
    from sagelane.config import ModelConfig
    from sagelane.contract import Contract


class NothingToMonitorError(SageLaneError):
    """The model has no live endpoint, or its version carries no baseline."""


@dataclass
class LiveVersion:
    endpoint: str
    model_name: str
    package_arn: str
    version: int
    model_data: str


@dataclass
class DriftReport:
    model: str
    live: LiveVersion
    since: datetime
    until: datetime
    requests: int
    rows: int
    unreadable: int
    results: list[Drift] = field(default_factory=list)

    @property
    def max_psi(self) -> float:
        return max((d.psi for d in self.results), default=0.0)

    @property
    def max_ks(self) -> float:
        return max((d.ks for d in self.results), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.live.version,
            "endpoint": self.live.endpoint,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "requests": self.requests,
            "rows": self.rows,
            "unreadable": self.unreadable,
            "max_psi": self.max_psi,
            "max_ks": self.max_ks,
            "features": [d.to_dict() for d in self.results],
        }


def live_version(sagemaker: Any, endpoint: str) -> LiveVersion:
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except sagemaker.exceptions.ClientError:
        raise NothingToMonitorError(f"no endpoint {endpoint}: approve a version to deploy it first") from None
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    container = sagemaker.describe_model(ModelName=model_name).get("PrimaryContainer", {})
    package_arn = container.get("ModelPackageName")
    if not package_arn:
        raise NothingToMonitorError(f"{endpoint} serves {model_name}, which is not from the Model Registry")
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    return LiveVersion(
        endpoint=endpoint,
        model_name=model_name,
        package_arn=package_arn,
        version=int(package.get("ModelPackageVersion") or 0),
        model_data=package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
    )


def read_baseline(s3: Any, model_data: str) -> dict[str, Any]:
    bucket, _, key = model_data.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        try:
            member = tar.extractfile("baseline.json")
        except KeyError:
            member = None
        if member is None:
            raise NothingToMonitorError(f"{model_data} has no baseline.json (trained before baselines existed?)")
        return json.loads(member.read())


def check(
    *,
    s3: Any,
    sagemaker: Any,
    model: str,
    endpoint: str,
    capture_bucket: str,
    capture_prefix: str,
    since: datetime,
    until: datetime | None = None,
    traffic: Traffic | None = None,
) -> DriftReport:
    """Drift of the traffic captured for ``endpoint`` in [since, until] against its live version's baseline."""
    until = until or datetime.now(UTC)
    live = live_version(sagemaker, endpoint)
    baseline = read_baseline(s3, live.model_data)
    traffic = traffic or read_s3(
        s3,
        bucket=capture_bucket,
        prefix=capture_prefix,
        endpoint=endpoint,
        variant=LIVE_VARIANT,
        since=since,
        until=until,
    )
    results = drift(baseline, traffic.records, traffic.predictions or None) if traffic.records else []
    return DriftReport(
        model=model,
        live=live,
        since=since,
        until=until,
        requests=traffic.requests,
        rows=len(traffic.records),
        unreadable=traffic.unreadable,
        results=results,
    )


def check_model(
    *, s3: Any, sagemaker: Any, env: str, model: str, capture_bucket: str, hours: float, until: datetime | None = None
) -> DriftReport:
    """:func:`check` for a model of ``env`` as the kit deploys it: its endpoint, its capture folder
    (``capture/<model>`` in the artifacts bucket), the last ``hours`` of traffic."""
    from sagelane.client import endpoint_name

    until = until or datetime.now(UTC)
    return check(
        s3=s3,
        sagemaker=sagemaker,
        model=model,
        endpoint=endpoint_name(env, model),
        capture_bucket=capture_bucket,
        capture_prefix=f"capture/{model}",
        since=until - timedelta(hours=hours),
        until=until,
    )


def check_quality(
    *,
    s3: Any,
    env: str,
    model: str,
    bucket: str,
    target: str,
    metric: str,
    hours: float,
    delay_hours: float,
    min_rows: int,
    until: datetime | None = None,
) -> Quality:
    """The live ``metric`` from the labels that arrived in the last ``hours``, joined to the traffic
    captured up to ``delay_hours`` before that (the capture is only read when there are labels)."""
    from sagelane.client import endpoint_name

    until = until or datetime.now(UTC)
    since = until - timedelta(hours=hours)
    labels = read_labels(s3, bucket=bucket, prefix=f"{LABELS_PREFIX}/{model}", since=since, until=until, target=target)
    outputs: dict[tuple[str, int], Any] = {}
    if labels.values:
        outputs = read_s3(
            s3,
            bucket=bucket,
            prefix=f"capture/{model}",
            endpoint=endpoint_name(env, model),
            variant=LIVE_VARIANT,
            since=since - timedelta(hours=delay_hours),
            until=until,
        ).by_inference
    quality = live_quality(metric=metric, outputs=outputs, labels=labels.values, min_rows=min_rows)
    quality.files, quality.rejected = labels.files, labels.rejected
    return quality


def check_model_quality(
    *, s3: Any, env: str, model: ModelConfig, contract: Contract, bucket: str, hours: float | None = None
) -> Quality | None:
    """:func:`check_quality` with the model's monitoring settings and its contract's target and primary
    metric; None for a contract without a target."""
    if contract.target is None:
        return None
    monitoring = model.monitoring
    return check_quality(
        s3=s3,
        env=env,
        model=model.name,
        bucket=bucket,
        target=contract.target.column,
        metric=contract.target.primary_metric,
        hours=monitoring.window_hours if hours is None else hours,
        delay_hours=monitoring.label_delay_hours,
        min_rows=monitoring.min_labelled_rows,
    )


def publish_quality(cloudwatch: Any, *, env: str, model: str, quality: Quality, at: datetime | None = None) -> int:
    """``LabelledRows`` always; ``LiveMetric`` when there is a value (no labels is no verdict)."""
    model_dim = {"Name": "Model", "Value": model}
    data: list[dict[str, Any]] = [
        {"MetricName": "LabelledRows", "Dimensions": [model_dim], "Value": quality.labelled, "Unit": "Count"}
    ]
    if quality.value is not None:
        dims = [model_dim, {"Name": "Metric", "Value": quality.metric}]
        data.append({"MetricName": "LiveMetric", "Dimensions": dims, "Value": quality.value, "Unit": "None"})
    timestamp = at or datetime.now(UTC)
    cloudwatch.put_metric_data(Namespace=f"SageLane/{env}", MetricData=[{**d, "Timestamp": timestamp} for d in data])
    return len(data)


def publish(cloudwatch: Any, *, env: str, report: DriftReport, min_rows: int = 1) -> int:
    """Put the report's metrics; returns how many data points were sent. Fewer than ``min_rows`` rows
    (``monitoring.min_rows``: too noisy for a drift figure) or no traffic: only MonitoredRows."""
    model_dim = {"Name": "Model", "Value": report.model}
    data: list[dict[str, Any]] = [
        {"MetricName": "MonitoredRows", "Dimensions": [model_dim], "Value": report.rows, "Unit": "Count"}
    ]
    if report.results and report.rows >= min_rows:
        data += [
            {"MetricName": "MaxPSI", "Dimensions": [model_dim], "Value": report.max_psi, "Unit": "None"},
            {"MetricName": "MaxKS", "Dimensions": [model_dim], "Value": report.max_ks, "Unit": "None"},
        ]
        for d in report.results:
            dims = [model_dim, {"Name": "Feature", "Value": d.name}]
            data += [
                {"MetricName": "FeaturePSI", "Dimensions": dims, "Value": d.psi, "Unit": "None"},
                {"MetricName": "FeatureKS", "Dimensions": dims, "Value": d.ks, "Unit": "None"},
            ]
    timestamp = report.until
    for start in range(0, len(data), 500):  # PutMetricData takes up to 1000 data points per call
        cloudwatch.put_metric_data(
            Namespace=f"SageLane/{env}",
            MetricData=[{**d, "Timestamp": timestamp} for d in data[start : start + 500]],
        )
    return len(data)
