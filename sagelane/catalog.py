"""The Glue Data Catalog view of a contract: one definition for the CDK table and the curate step."""

from __future__ import annotations

from typing import Any

from sagelane.contract import Contract
from sagelane.settings import PARTITION_KEY

PARQUET_STORAGE: dict[str, Any] = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


def glue_columns(contract: Contract) -> list[dict[str, str]]:
    """Curated columns as Glue columns (PII dropped, hashed PII as string)."""
    return [
        {"Name": c.name.lower(), "Type": c.type.glue_type, "Comment": (c.description or f"{c.type}")[:255]}
        for c in contract.curated_columns
    ]


def partition_keys() -> list[dict[str, str]]:
    return [{"Name": PARTITION_KEY, "Type": "string", "Comment": "UTC date the file was ingested"}]


def table_name(contract: Contract) -> str:
    return contract.dataset
