"""SageMaker serving contract: ``model_fn`` / ``input_fn`` / ``predict_fn`` / ``output_fn``.

Requests are JSON (an object, a list of objects, or ``{"instances": [...]}``) or CSV with a header.
Every record is checked against the input schema the model was trained with; a bad record is a client
error (``InputError``) naming the record and the field. Predictions come from the ONNX export when its
parity check passed at training (arrays built straight from the records), else from the scikit-learn
pipeline.

Where the container's environment asks for it (serverless endpoints, which SageMaker's data capture
does not cover), requests and responses are captured by ``capture.py`` in SageMaker's capture format. A
JSON request may name itself for the quality check — ``{"instances": [...], "inference_id": "..."}`` —
and the id is recorded with the capture as SageMaker records ``InvokeEndpoint``'s ``InferenceId``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
from capture import Capture

try:  # orjson parses and writes JSON ~10x faster; the stdlib is the fallback
    import orjson

    def _loads(text: bytes | str) -> Any:
        return orjson.loads(text)

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    _DECODE_ERROR: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised where orjson is absent

    def _loads(text: bytes | str) -> Any:
        return json.loads(text)

    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode()

    _DECODE_ERROR = json.JSONDecodeError

JSON, CSV = "application/json", "text/csv"
_MISSING = object()


class InputError(ValueError):
    """The request does not fit the model's input schema (HTTP 400, not 500)."""


class Model:
    def __init__(self, model_dir: str | Path) -> None:
        model_dir = Path(model_dir)
        self.metadata = json.loads((model_dir / "metadata.json").read_text())
        spec = self.metadata["spec"]
        self.numeric: list[str] = [*spec["numeric"], *spec["boolean"]]
        self.booleans = set(spec["boolean"])
        self.categorical: dict[str, list[str]] = spec["categorical"]
        self.allowed = {c: set(v) for c, v in self.categorical.items()}
        self.classification = spec["problem_type"] in ("binary_classification", "multiclass_classification")
        self.classes: list[str] = self.metadata["classes"]
        self.model_dir = model_dir
        self._pipeline = None
        self.session = None
        onnx_path = model_dir / "model.onnx"
        if onnx_path.exists() and self.metadata.get("onnx", {}).get("trusted"):
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
            # only the scores are read: skip materializing the label output
            outputs = self.session.get_outputs()
            self._outputs = [outputs[1].name] if self.classification and len(outputs) > 1 else [outputs[0].name]

    @property
    def pipeline(self):
        if self._pipeline is None:
            import joblib

            self._pipeline = joblib.load(self.model_dir / "model.joblib")
        return self._pipeline

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    # --- checking ---------------------------------------------------------------------------------

    def columns(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        """Records → one array per feature, checked against the schema."""
        if not records:
            raise InputError("no records in the request")
        number, category, n = self._number, self._category, len(records)
        out: dict[str, np.ndarray] = {}
        for name in self.numeric:
            values = out[name] = np.empty(n, dtype=np.float32)
            for i, record in enumerate(records):
                values[i] = number(record, name, i)
        for name in self.categorical:
            values = out[name] = np.empty(n, dtype=object)
            for i, record in enumerate(records):
                values[i] = category(record, name, i)
        return out

    def _field(self, record: Any, name: str, i: int) -> Any:
        if not isinstance(record, dict):
            raise InputError(f"record {i}: expected an object with the fields {', '.join(self.features)}")
        if name not in record:
            raise InputError(f"record {i}: missing field '{name}'")
        return record[name]

    def _number(self, record: Any, name: str, i: int) -> float:
        value = record.get(name, _MISSING) if type(record) is dict else self._field(record, name, i)
        if type(value) is float or (type(value) is int and name not in self.booleans):
            return value  # the common case, checked first
        if value is _MISSING:
            self._field(record, name, i)  # raises: missing field
        if value is None or value == "":
            return math.nan
        if name in self.booleans:
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            lowered = str(value).strip().lower()
            if lowered in ("true", "1", "yes"):
                return 1.0
            if lowered in ("false", "0", "no"):
                return 0.0
            raise InputError(f"record {i}: field '{name}' must be true or false, got {value!r}")
        if isinstance(value, bool):
            raise InputError(f"record {i}: field '{name}' must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"record {i}: field '{name}' must be a number, got {value!r}") from None
        if math.isinf(number):
            raise InputError(f"record {i}: field '{name}' must be finite")
        return number

    def _category(self, record: Any, name: str, i: int) -> str:
        value = record.get(name, _MISSING) if type(record) is dict else self._field(record, name, i)
        if type(value) is str and value in self.allowed[name]:
            return value  # the common case, checked first
        if value is _MISSING:
            self._field(record, name, i)  # raises: missing field
        if value is None or value == "":
            return ""
        text = str(value)
        if text not in self.allowed[name]:
            raise InputError(f"record {i}: field '{name}' must be one of {sorted(self.allowed[name])}, got {value!r}")
        return text

    # --- predicting -------------------------------------------------------------------------------

    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        columns = self.columns(records)
        if self.session is not None:
            inputs = {name: values.reshape(-1, 1) for name, values in columns.items()}
            scores = np.asarray(self.session.run(self._outputs, inputs)[0], dtype=np.float64)
        else:
            import pandas as pd

            frame = pd.DataFrame({name: columns[name] for name in self.features})
            for name in self.numeric:
                frame[name] = frame[name].astype("float64")
            pipeline = self.pipeline
            scores = pipeline.predict_proba(frame) if self.classification else pipeline.predict(frame)
        return self._format(scores)

    def _format(self, scores: np.ndarray) -> list[dict[str, Any]]:
        if not self.classification:
            return [{"prediction": v} for v in scores.reshape(-1).tolist()]
        classes = self.classes
        best = scores.argmax(axis=1).tolist()
        return [
            {"prediction": classes[b], "probabilities": dict(zip(classes, row, strict=True))}
            for b, row in zip(best, scores.tolist(), strict=True)
        ]


def parse(body: bytes | str, content_type: str) -> list[dict[str, Any]]:
    return _parse(body, content_type)[0]


def _parse(body: bytes | str, content_type: str) -> tuple[list[dict[str, Any]], str | None]:
    """The request's records, and the ``inference_id`` its JSON envelope names (if any)."""
    content_type = (content_type or JSON).split(";")[0].strip().lower()
    if content_type == JSON:
        try:
            data = _loads(body)
        except _DECODE_ERROR as exc:
            raise InputError(f"the body is not valid JSON: {exc}") from None
        inference_id = None
        if isinstance(data, dict) and "instances" in data:
            inference_id = data.get("inference_id")
            if inference_id is not None and not isinstance(inference_id, str | int):
                raise InputError("inference_id must be a string")
            data = data["instances"]
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise InputError('expected a JSON object, a list of objects, or {"instances": [...]}')
        return data, (str(inference_id) if inference_id is not None else None)
    if content_type == CSV:
        try:
            csv_text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        except UnicodeDecodeError:
            raise InputError("the CSV body is not UTF-8") from None
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        if not rows:
            raise InputError("the CSV body needs a header line and at least one row")
        return rows, None
    raise InputError(f"unsupported content type {content_type!r}: use {JSON} or {CSV}")


# --- the SageMaker contract ----------------------------------------------------------------------


_capture: Capture | None = None  # one model per container: set by model_fn from the environment
_request = threading.local()  # the request being answered on this thread, for the capture


def model_fn(model_dir: str) -> Model:
    global _capture
    if _capture is None:
        _capture = Capture.from_environment()
    return Model(model_dir)


def input_fn(request_body: bytes | str, request_content_type: str) -> list[dict[str, Any]]:
    records, inference_id = _parse(request_body, request_content_type)
    if _capture is not None:
        body = request_body.encode() if isinstance(request_body, str) else bytes(request_body)
        _request.captured = (body, request_content_type or JSON, inference_id)
    return records


def predict_fn(records: list[dict[str, Any]], model: Model) -> list[dict[str, Any]]:
    return model.predict(records)


def output_fn(prediction: list[dict[str, Any]], accept: str) -> tuple[bytes, str]:
    payload = _dumps(prediction)
    captured = getattr(_request, "captured", None)
    if _capture is not None and captured is not None:
        _request.captured = None
        body, content_type, inference_id = captured
        _capture.record(body, content_type, payload, JSON, inference_id)
    return payload, JSON


def flush_capture() -> None:
    """Write the buffered capture now (the embedded AWS and tests call it; in AWS the timer does)."""
    if _capture is not None:
        _capture.flush()


def stop_capture() -> None:
    """The container stops: write what is buffered and stop the capture's timer (at exit in AWS)."""
    if _capture is not None:
        _capture.close()
