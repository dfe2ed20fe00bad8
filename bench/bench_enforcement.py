"""Per-call cost of the embedded AWS's enforcement (request validation and IAM, ``sagelane.local.gate``).

The same DynamoDB PutItem (the train workflow's lock write: a table encrypted with a customer managed key)
through moto in-process, three ways interleaved call by call in one run (so machine noise hits all alike):
enforcement off (moto alone: the baseline), on as the operator (validation only), and on as a role whose
policies are evaluated (validation + IAM + the implicit KMS checks). Medians of single calls, in µs.

Usage: ./dev bench   or   .venv/bin/python bench/bench_enforcement.py
"""

from __future__ import annotations

import statistics
import time

import boto3
from moto import mock_aws

from sagelane.local import gate
from sagelane.local.iam import Authority

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/TrainWorkflowRole"
CALLS = 2_000


def main() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key()["KeyMetadata"]["Arn"]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="locks",
            KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/locks"
        authority = Authority(account=ACCOUNT, region=REGION)
        authority.encrypted_by[table] = key
        authority.resource_policies[key].append(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ]
            }
        )
        authority.principal(ROLE).policies.append(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"], "Resource": table},
                    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key},
                ]
            }
        )
        credentials = authority.credentials(ROLE)
        as_role = boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        item = {"model": {"S": "penguins-species"}, "run": {"S": "r-1"}}

        def timed(client, on: bool) -> float:
            with gate.enforcing(on):
                start = time.perf_counter()
                client.put_item(TableName="locks", Item=item)
                return time.perf_counter() - start

        gate.install(authority)
        samples: dict[str, list[float]] = {"off": [], "operator": [], "role": []}
        try:
            for _ in range(CALLS):
                samples["off"].append(timed(dynamodb, False))
                samples["operator"].append(timed(dynamodb, True))
                samples["role"].append(timed(as_role, True))
            assert authority.denials == [], authority.denials
        finally:
            gate.uninstall()
        baseline, validated, authorized = (statistics.median(samples[k]) * 1e6 for k in ("off", "operator", "role"))

    print(f"DynamoDB PutItem through moto in-process, median of {CALLS} calls each (µs):")
    print(f"  enforcement off (moto alone)         {baseline:8.0f}   1.00x")
    print(f"  validation (the operator)            {validated:8.0f}   {validated / baseline:.2f}x")
    print(f"  validation + IAM + KMS (a role)      {authorized:8.0f}   {authorized / baseline:.2f}x")
    print(f"  enforcement per call: +{validated - baseline:.0f} µs validation, +{authorized - validated:.0f} µs IAM")


if __name__ == "__main__":
    main()
