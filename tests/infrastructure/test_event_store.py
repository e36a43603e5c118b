"""The events table and the data bucket, as synthesized."""

from __future__ import annotations

from aws_cdk.assertions import Match

from functions import table_schema as schema
from functions.models.blob_keys import artifact_source_key
from tests.infrastructure.template import Synthesized


def _table(synthesized: Synthesized) -> dict:
    return synthesized.resources[synthesized.logical_id("EventStoreEvents", "AWS::DynamoDB::Table")]


def test_the_registry_is_a_table_of_its_own_keyed_on_pk_retained_and_recoverable(
    synthesized: Synthesized,
) -> None:
    # Given the registry table (connections and API keys)
    registry = synthesized.resources[synthesized.logical_id("RegistryTable", "AWS::DynamoDB::Table")]
    props = registry["Properties"]
    # Then it is keyed on pk, billed on demand, has no stream and no TTL, and survives the stack
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "StreamSpecification" not in props and "TimeToLiveSpecification" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert registry["DeletionPolicy"] == "Retain"


def test_table_is_keyed_on_id_and_billed_on_demand(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When the table is read / Then
    props = _table(synthesized)["Properties"]
    assert props["KeySchema"] == [{"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "TableName" not in props, "the table name is generated and passed to functions by env"


def test_table_has_every_schema_index_with_its_include_projection(synthesized: Synthesized) -> None:
    indexes = {gsi["IndexName"]: gsi for gsi in _table(synthesized)["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in schema.INDEXES}
    for index in schema.INDEXES:
        gsi = indexes[index.name]
        assert gsi["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert gsi["Projection"]["ProjectionType"] == "INCLUDE"
        assert sorted(gsi["Projection"]["NonKeyAttributes"]) == sorted(index.non_key_attributes)


def test_table_attribute_definitions_match_the_shared_schema(synthesized: Synthesized) -> None:
    definitions = _table(synthesized)["Properties"]["AttributeDefinitions"]
    assert sorted(definitions, key=lambda d: d["AttributeName"]) == sorted(
        schema.attribute_definitions(), key=lambda d: d["AttributeName"]
    )


def test_table_streams_new_images_and_is_protected(synthesized: Synthesized) -> None:
    table = _table(synthesized)
    props = table["Properties"]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


def _data_bucket(synthesized: Synthesized) -> tuple[str, dict]:
    bucket_id = synthesized.logical_id("EventStoreData", "AWS::S3::Bucket")
    return bucket_id, synthesized.resources[bucket_id]


def test_data_bucket_is_encrypted_private_and_unversioned(synthesized: Synthesized) -> None:
    _, bucket = _data_bucket(synthesized)
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "VersioningConfiguration" not in props
    assert "BucketName" not in props
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synthesized.logical_id("EventStoreAccessLogs", "AWS::S3::Bucket")
    }


def test_data_bucket_refuses_plain_http(synthesized: Synthesized) -> None:
    bucket_id, _ = _data_bucket(synthesized)
    synthesized.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_data_bucket_lifecycle_aborts_uploads_and_expires_source_pointers(synthesized: Synthesized) -> None:
    _, bucket = _data_bucket(synthesized)
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert abort["Status"] == "Enabled"
    assert "Prefix" not in abort, "incomplete uploads are aborted everywhere in the bucket"
    sources = rules["expire-artifact-sources"]
    assert sources["Prefix"] == "artifact-sources/"
    assert artifact_source_key("event-id", 0).startswith(sources["Prefix"])
    assert sources["ExpirationInDays"] == 2
    assert sources["Status"] == "Enabled"
