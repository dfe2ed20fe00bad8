"""A Python client for a deployed model: ``Predictor("penguins-species", env="prod").predict({...})``.

Calls ``sagemaker-runtime:InvokeEndpoint`` on the model's stable endpoint (``sagelane-<env>-<model>``),
with whatever credentials boto3 finds (the kit's invoke-only policy is enough). Against the embedded AWS
it honours ``AWS_ENDPOINT_URL``. A request the model rejects raises :class:`PredictionError` with the
model's own message (which names the field) and status.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sagelane import aws
from sagelane.errors import SageLaneError


class PredictionError(SageLaneError):
    """The endpoint or the model refused the request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def endpoint_name(env: str, model: str) -> str:
    return f"sagelane-{env}-{model}"


def live_version(env: str, model: str) -> int | None:
    """The version the model's endpoint serves (its config is named ``<endpoint>-v<N>-<run>``), if any."""
    sagemaker = aws.client("sagemaker")
    try:
        config = sagemaker.describe_endpoint(EndpointName=endpoint_name(env, model))["EndpointConfigName"]
    except sagemaker.exceptions.ClientError:
        return None
    match = re.search(r"-v(\d+)-[0-9a-f]{8}$", config)
    return int(match.group(1)) if match else None


class Predictor:
    def __init__(self, model: str, *, env: str = "dev", endpoint: str | None = None, client: Any = None) -> None:
        self.model = model
        self.endpoint = endpoint or endpoint_name(env, model)
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("sagemaker-runtime")

    def predict(
        self, records: dict[str, Any] | list[dict[str, Any]], *, inference_id: str | None = None
    ) -> list[dict[str, Any]]:
        """One prediction per record: ``{"prediction": ..., "probabilities": {...}}`` for classifiers.

        ``inference_id`` names the request for the quality check: ground-truth labels sent later with
        this id (and the record's position) are joined to what the model answered. It travels as
        ``InvokeEndpoint``'s ``InferenceId`` (which SageMaker's data capture records) and in the JSON body
        (which the kit's own capture on serverless endpoints records).
        """
        if inference_id is None:
            return self._invoke(json.dumps(records).encode(), "application/json")
        batch = records if isinstance(records, list) else [records]
        body = json.dumps({"instances": batch, "inference_id": inference_id}).encode()
        return self._invoke(body, "application/json", inference_id)

    def predict_csv(self, text: str) -> list[dict[str, Any]]:
        """Rows of a CSV with a header line."""
        return self._invoke(text.encode(), "text/csv")

    def _invoke(self, body: bytes, content_type: str, inference_id: str | None = None) -> list[dict[str, Any]]:
        client = self.client
        extra = {"InferenceId": inference_id} if inference_id else {}
        try:
            response = client.invoke_endpoint(
                EndpointName=self.endpoint, Body=body, ContentType=content_type, Accept="application/json", **extra
            )
        except client.exceptions.ModelError as exc:
            details = exc.response
            message = details.get("OriginalMessage") or details.get("Error", {}).get("Message", str(exc))
            raise PredictionError(f"{self.model}: {message}", details.get("OriginalStatusCode")) from None
        except client.exceptions.ValidationError as exc:
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if "not found" in message.lower():
                message = f"no endpoint {self.endpoint}: is {self.model} deployed in this environment?"
            raise PredictionError(message, 400) from None
        return json.loads(response["Body"].read())
