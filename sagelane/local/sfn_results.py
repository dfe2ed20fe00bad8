"""A Distributed Map's ``ResultWriter`` as Step Functions writes it: the child results in S3, not the state.

moto's interpreter writes the manifest only, with empty result lists (and drops the results). Step
Functions writes the results of a map run under ``<Prefix><map run id>/`` as ``SUCCEEDED_<n>.json`` (a
JSON array of the child executions: ``ExecutionArn``, ``Name``, ``Status``, ``Output`` as a JSON string…)
plus ``manifest.json`` listing those files, and the Map state's output is only
``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`` — which is why a map over thousands of items
stays under the 256 KiB state limit. The files are written as the state machine's role (their
``s3:PutObject`` and the bucket key's ``kms:GenerateDataKey`` are authorized like every call).

Every child counts as SUCCEEDED here (the kit catches each item's failure; an item failing past every
Catch within the tolerated percentage is not told apart).
"""

from __future__ import annotations

import json
from typing import Any

from sagelane.local.patches import patch

# Step Functions splits result files at 5 GB; a local map run fits one file.
RESULTS_FILE = "SUCCEEDED_0.json"


_WRITER_MODULE = "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval"


def _writer_class() -> Any:
    import importlib

    return importlib.import_module(f"{_WRITER_MODULE}.resource_eval_s3").ResourceEvalS3


def _put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    ResourceEvalS3 = _writer_class()

    parameters = env.stack.pop()
    results = env.stack.pop()
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    prefix = parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    run_prefix = f"{prefix}{map_run_arn.split(':')[-1]}/"
    machine = map_run_arn.split(":mapRun:", 1)[0].replace(":mapRun:", ":stateMachine:")
    children = [
        {
            "ExecutionArn": f"{map_run_arn.replace(':mapRun:', ':execution:')}:{index}",
            "Name": str(index),
            "StateMachineArn": machine,
            "Status": "SUCCEEDED",
            "Output": json.dumps(result),
            "OutputDetails": {"Included": True},
        }
        for index, result in enumerate(results if isinstance(results, list) else [results])
    ]
    body = json.dumps(children).encode()
    s3.put_object(Bucket=parameters["Bucket"], Key=run_prefix + RESULTS_FILE, Body=body)
    manifest = {
        "DestinationBucket": parameters["Bucket"],
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": run_prefix + RESULTS_FILE, "Size": len(body)}],
        },
    }
    key = run_prefix + "manifest.json"
    s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key}})


def _declare() -> Any:
    ResourceEvalS3 = _writer_class()

    return patch(
        ResourceEvalS3,
        "_handle_put_object",
        staticmethod(_put_object),
        lacks="a Distributed Map's ResultWriter writes an empty manifest and drops the results",
        aws="the child results in SUCCEEDED_<n>.json under <Prefix><map run id>/, listed in manifest.json",
    )


RESULT_WRITER = _declare()
