"""Names shared by the infrastructure and the code it runs, defined once.

The CDK stacks set these environment variables on the Lambda functions; the handlers read them. A
rename here changes both sides.
"""

from __future__ import annotations

import os

from sagelane.errors import ConfigError

RAW_BUCKET = "SAGELANE_RAW_BUCKET"
CURATED_BUCKET = "SAGELANE_CURATED_BUCKET"
QUARANTINE_BUCKET = "SAGELANE_QUARANTINE_BUCKET"
GLUE_DATABASE = "SAGELANE_GLUE_DATABASE"
PII_SALT_SECRET_ARN = "SAGELANE_PII_SALT_SECRET_ARN"
MAX_OBJECT_BYTES = "SAGELANE_MAX_OBJECT_BYTES"
MAX_UNCOMPRESSED_BYTES = "SAGELANE_MAX_UNCOMPRESSED_BYTES"
CONTRACTS_DIR = "SAGELANE_CONTRACTS_DIR"
ENVIRONMENT = "SAGELANE_ENVIRONMENT"
ARTIFACTS_BUCKET = "SAGELANE_ARTIFACTS_BUCKET"
MODELS = "SAGELANE_MODELS"  # JSON: model name → its config plus resolved image URIs
TRAINING_ROLE_ARN = "SAGELANE_TRAINING_ROLE_ARN"
KMS_KEY_ARN = "SAGELANE_KMS_KEY_ARN"
TRAINING_SOURCE_URI = "SAGELANE_TRAINING_SOURCE_URI"
TRAINING_CODE_VERSION = "SAGELANE_TRAINING_CODE_VERSION"
AUTO_APPROVE = "SAGELANE_AUTO_APPROVE"
DEPLOYMENTS_TABLE = "SAGELANE_DEPLOYMENTS_TABLE"

# S3 layout of the lake (prefixes inside the buckets).
INCOMING_PREFIX = "incoming"  # raw: incoming/<dataset>/<file>
CURATED_DATA_PREFIX = "data"  # curated: data/<dataset>/ingest_date=YYYY-MM-DD/<file>.parquet
REPORTS_PREFIX = "reports"  # curated: reports/<dataset>/ingest_date=.../<run>/report.{json,html}
PARTITION_KEY = "ingest_date"

# Lambda runtime: Python version and architecture of the functions and of the dependency layer.
LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_PLATFORM = "aarch64-manylinux_2_28"  # arm64: ~20 % cheaper per GB-second than x86_64

# Powertools for AWS Lambda: the managed layer's version must match the locked package.
POWERTOOLS_VERSION = "3.37.0"


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value
