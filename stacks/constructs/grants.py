"""Object-level grants on lake zones with exact actions (no ``s3:GetObject*``-style wildcards).

CDK's ``grant_read`` / ``grant_put`` add action wildcards (``s3:GetObject*``, ``s3:List*``,
``kms:ReEncrypt*``...) that a function reading one prefix does not need. These grants give only the
actions the ingest code calls, on one key prefix, and the matching use of the lake key. The one
wildcard left — the object keys under the prefix — is acknowledged to cdk-nag on that role alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.constructs.nag import acknowledge

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")


@dataclass(frozen=True)
class Zone:
    """A lake bucket as another stack uses it: the bucket, its key, and its name as cdk-nag prints it."""

    bucket: s3.IBucket
    key: kms.IKey
    nag_name: str  # e.g. sagelane-dev-raw-<AWS::AccountId>-<AWS::Region>

    def grant_read(self, grantee: iam.IGrantable, prefix: str = "*") -> None:
        self._grant(grantee, READ_ACTIONS, prefix, "read")
        self.key.grant(grantee, "kms:Decrypt")

    def grant_write(self, grantee: iam.IGrantable, prefix: str = "*") -> None:
        self._grant(grantee, WRITE_ACTIONS, prefix, "write")
        self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")  # Decrypt: multipart uploads read parts

    def grant_scratch(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Read, write, delete and list the keys under ``prefix`` (a scratch area such as Spark's output)."""
        self._grant(grantee, (*READ_ACTIONS, *WRITE_ACTIONS, "s3:DeleteObject"), f"{prefix}*", "scratch")
        self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")
        self.grant_list(grantee, prefix)

    def grant_list(self, grantee: iam.IGrantable, prefix: str) -> None:
        """``s3:ListBucket`` on the bucket for listings under ``prefix`` only (the ``s3:prefix`` condition).
        A SageMaker ``S3Prefix`` channel lists its prefix before it downloads ("Data download failed"
        without it); so does any reader of a partitioned dataset."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )

    def _grant(self, grantee: iam.IGrantable, actions: tuple[str, ...], prefix: str, verb: str) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.bucket.arn_for_objects(prefix)]
        )
        role = grantee.grant_principal
        if "*" in prefix and isinstance(role, iam.Role):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{self.nag_name}/{prefix}]",
                f"Object-level {verb} access to the keys under '{prefix}' in this one bucket: object "
                "names are not known in advance, the prefix is the narrowest scope.",
            )


def grant_encrypted_tables_and_topics(key: kms.IKey, grantee: iam.IGrantable) -> None:
    """What a caller of DynamoDB tables and SNS topics encrypted with ``key`` needs on the key: the services
    use a customer managed key with their caller's permissions, ``kms:Decrypt`` to read an item and
    ``kms:GenerateDataKey`` to write one or to publish (CDK's task constructs grant the table and topic
    actions only). The embedded AWS checks both (sagelane/local/iam.py)."""
    key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey")
