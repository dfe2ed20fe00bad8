"""What the ingest Lambda functions read from their environment, built once per container."""

from __future__ import annotations

import functools
import os

from sagelane import aws, settings
from sagelane.ingest.steps import Lake
from sagelane.runtime import contract, contracts_dir
from sagelane.validation import Limits

__all__ = ["contract", "contracts_dir", "lake", "limits", "pii_salt"]


def lake() -> Lake:
    return Lake(
        raw_bucket=settings.required(settings.RAW_BUCKET),
        curated_bucket=settings.required(settings.CURATED_BUCKET),
        quarantine_bucket=settings.required(settings.QUARANTINE_BUCKET),
        glue_database=os.environ.get(settings.GLUE_DATABASE, ""),
    )


def limits() -> Limits:
    return Limits(
        max_bytes=int(settings.required(settings.MAX_OBJECT_BYTES)),
        max_uncompressed_bytes=int(settings.required(settings.MAX_UNCOMPRESSED_BYTES)),
    )


@functools.cache
def pii_salt() -> bytes:
    """The secret salt for hashing PII, from Secrets Manager (read once per container)."""
    arn = settings.required(settings.PII_SALT_SECRET_ARN)
    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)
    return secret["SecretString"].encode("utf-8")
