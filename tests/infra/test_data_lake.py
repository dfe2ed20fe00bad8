"""DataLakeStack wiring: encryption, TLS, lifecycle, notifications, catalog."""

from __future__ import annotations


def _zone_buckets(synth):
    return {k: v for k, v in synth.resources("DataLake", "AWS::S3::Bucket").items() if "BucketName" in v["Properties"]}


def test_every_zone_bucket_is_kms_encrypted_with_the_lake_key_and_versioned(dev):
    buckets = _zone_buckets(dev)
    assert len(buckets) == 4  # raw, curated, quarantine, artifacts
    (key_id,) = dev.resources("DataLake", "AWS::KMS::Key")
    for bucket in buckets.values():
        props = bucket["Properties"]
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert "LoggingConfiguration" in props


def test_the_access_log_bucket_is_encrypted_too(dev):
    logs = [v for v in dev.resources("DataLake", "AWS::S3::Bucket").values() if "BucketName" not in v["Properties"]]
    (bucket,) = logs
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_every_bucket_policy_denies_plain_http_and_foreign_encryption(dev):
    policies = dev.resources("DataLake", "AWS::S3::BucketPolicy")
    assert len(policies) == 5
    zone_policies = 0
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        tls = [s for s in statements if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls and all(s["Effect"] == "Deny" for s in tls)
        sids = {s.get("Sid") for s in statements}
        if "DenyPutsWithOtherEncryption" in sids:
            zone_policies += 1
            assert "DenyPutsWithAnotherKey" in sids
    assert zone_policies == 4


def test_raw_bucket_sends_events_to_eventbridge_and_ages_out_old_versions(dev):
    raw = next(v for v in _zone_buckets(dev).values() if "-raw-" in str(v["Properties"]["BucketName"]))
    notifications = dev.resources("DataLake", "Custom::S3BucketNotifications")
    (config,) = notifications.values()
    assert config["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    rules = {r["Id"]: r for r in raw["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_glue_tables_point_at_the_curated_parquet_with_contract_columns(dev, project):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in dev.resources("DataLake", "AWS::Glue::Table").values()
    }
    assert set(tables) == {"penguins", "churn"}
    churn = tables["churn"]
    location = churn["StorageDescriptor"]["Location"]
    assert location["Fn::Join"][1][0] == "s3://" and location["Fn::Join"][1][-1] == "/data/churn/"
    columns = {c["Name"]: c["Type"] for c in churn["StorageDescriptor"]["Columns"]}
    assert "phone" not in columns  # pii: drop
    assert (
        columns["email"] == "string" and columns["last_activity_at"] == "timestamp" and columns["churned"] == "boolean"
    )
    assert churn["PartitionKeys"][0]["Name"] == "ingest_date"
    assert churn["Parameters"]["sagelane:contract_sha256"] == project.contract("churn").fingerprint


def test_prod_retains_data_and_dev_does_not(dev, prod):
    for bucket in _zone_buckets(prod).values():
        assert bucket["DeletionPolicy"] == "Retain"
    for bucket in _zone_buckets(dev).values():
        assert bucket["DeletionPolicy"] == "Delete"
    (key,) = prod.resources("DataLake", "AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain" and key["Properties"]["EnableKeyRotation"] is True


def test_pii_salt_is_a_generated_secret_under_the_lake_key(dev):
    (secret,) = dev.resources("DataLake", "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 64
    assert "KmsKeyId" in secret["Properties"]
