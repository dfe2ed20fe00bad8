"""SageMaker control-plane behaviour the deploy workflow relies on and moto lacks, added to moto in-process.

- **Model package state change events.** SageMaker emits "SageMaker Model Package State Change" to the
  default event bus when a version is created or its approval changes; moto emits nothing. Here each
  create / update puts that event (source ``aws.sagemaker``, the same detail fields) on moto's bus, so
  the rules and the pump deliver it like any other event.
- **UpdateEndpoint.** moto does not implement it. Here it switches the endpoint to the new config at once
  (the local endpoint is ``InService`` immediately, as for create); the ``DeploymentConfig`` is accepted
  and not simulated (no canary, no baking, no alarm-driven rollback: see docs/embedded-aws.md).

Patches (``sagelane.local.patches``) are installed while an embedded AWS is up and removed with it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from sagelane.local.patches import apply, patch, undo

log = logging.getLogger("sagelane.local")

DETAIL_TYPE = "SageMaker Model Package State Change"


def package_event(package: Any, account: str, region: str) -> dict[str, Any]:
    """The EventBridge entry SageMaker puts on the default bus for ``package`` (a moto model package)."""
    detail = {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelApprovalStatus": package.model_approval_status,
        "CreationTime": datetime.now(UTC).isoformat(),
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "Resources": [package.arn],
        "EventBusName": "default",
    }


def _emit(backend: Any, arn_or_name: str) -> None:
    from moto.events.models import events_backends

    name = backend.model_package_name_mapping.get(arn_or_name, arn_or_name)
    package = backend.model_packages.get(name)
    if package is None or not package.model_package_group_name:
        return
    entry = package_event(package, backend.account_id, backend.region_name)
    events_backends[backend.account_id][backend.region_name].put_events([entry])
    log.info(
        "model package %s v%s: %s",
        package.model_package_group_name,
        package.model_package_version,
        package.model_approval_status,
    )


def _create_model_package(self: Any, *args: Any, **kwargs: Any) -> Any:
    arn = _PATCHES[0].original(self, *args, **kwargs)
    _emit(self, arn)
    return arn


def _update_model_package(self: Any, *args: Any, **kwargs: Any) -> Any:
    arn = _PATCHES[1].original(self, *args, **kwargs)
    if kwargs.get("model_approval_status"):
        _emit(self, arn)
    return arn


def _update_endpoint(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint_config = backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{name}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
    endpoint.endpoint_config_name = endpoint_config["EndpointConfigName"]
    endpoint.production_variants = endpoint._process_production_variants(endpoint_config["ProductionVariants"])
    endpoint.data_capture_config = endpoint_config.get("DataCaptureConfig")
    endpoint.last_modified_time = datetime.now(UTC)
    log.info("endpoint %s: now serving config %s", name, endpoint.endpoint_config_name)
    return ActionResult({"EndpointArn": endpoint.arn})


_STATE_CHANGE = "SageMaker puts a Model Package State Change event on the default bus"
_PATCHES = [
    patch(
        SageMakerModelBackend,
        "create_model_package",
        _create_model_package,
        lacks="moto emits no event when a model package is created",
        aws=_STATE_CHANGE,
    ),
    patch(
        SageMakerModelBackend,
        "update_model_package",
        _update_model_package,
        lacks="moto emits no event when a package's approval changes",
        aws=_STATE_CHANGE,
    ),
    patch(
        SageMakerResponse,
        "update_endpoint",
        _update_endpoint,
        lacks="moto does not implement UpdateEndpoint",
        aws="the endpoint moves to the new config (here at once; DeploymentConfig accepted, not simulated)",
    ),
]


def install() -> None:
    apply(_PATCHES)


def uninstall() -> None:
    undo(_PATCHES)
