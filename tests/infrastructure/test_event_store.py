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
    # When the synthesized events table is read
    props = _table(synthesized)["Properties"]
    # Then it is keyed on the shared schema's partition key alone
    assert props["KeySchema"] == [{"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"}]
    # And billed per request
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    # And its name is left to CloudFormation
    assert "TableName" not in props, "the table name is generated and passed to functions by env"


def test_table_has_every_schema_index_with_its_include_projection(synthesized: Synthesized) -> None:
    # When the synthesized events table's global secondary indexes are read
    indexes = {gsi["IndexName"]: gsi for gsi in _table(synthesized)["Properties"]["GlobalSecondaryIndexes"]}
    # Then they are exactly the shared schema's indexes
    assert set(indexes) == {index.name for index in schema.INDEXES}
    # And each has the schema's keys and projects only the attributes the schema includes
    for index in schema.INDEXES:
        gsi = indexes[index.name]
        assert gsi["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert gsi["Projection"]["ProjectionType"] == "INCLUDE"
        assert sorted(gsi["Projection"]["NonKeyAttributes"]) == sorted(index.non_key_attributes)


def test_table_attribute_definitions_match_the_shared_schema(synthesized: Synthesized) -> None:
    # When the synthesized events table's attribute definitions are read
    definitions = _table(synthesized)["Properties"]["AttributeDefinitions"]
    # Then they are exactly those the shared schema derives
    assert sorted(definitions, key=lambda d: d["AttributeName"]) == sorted(
        schema.attribute_definitions(), key=lambda d: d["AttributeName"]
    )


def test_table_streams_new_images_and_is_protected(synthesized: Synthesized) -> None:
    # When the synthesized events table is read
    table = _table(synthesized)
    props = table["Properties"]
    # Then it streams new images
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # And it is recoverable to a point in time, protected from deletion and retained by CloudFormation
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    # And its items expire on the schema's TTL attribute
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


def _data_bucket(synthesized: Synthesized) -> tuple[str, dict]:
    bucket_id = synthesized.logical_id("EventStoreData", "AWS::S3::Bucket")
    return bucket_id, synthesized.resources[bucket_id]


def test_data_bucket_is_encrypted_private_and_unversioned(synthesized: Synthesized) -> None:
    # When the synthesized data bucket is read
    _, bucket = _data_bucket(synthesized)
    props = bucket["Properties"]
    # Then it is encrypted
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    # And closed to public access
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    # And unversioned, with a generated name
    assert "VersioningConfiguration" not in props
    assert "BucketName" not in props
    # And it logs access to the access-log bucket
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synthesized.logical_id("EventStoreAccessLogs", "AWS::S3::Bucket")
    }


def test_data_bucket_refuses_plain_http(synthesized: Synthesized) -> None:
    # When the synthesized data bucket is read
    bucket_id, _ = _data_bucket(synthesized)
    # Then its policy denies every request over plain HTTP
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
    # When the synthesized data bucket's lifecycle rules are read
    _, bucket = _data_bucket(synthesized)
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    # Then incomplete multipart uploads are aborted after a day, anywhere in the bucket
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert abort["Status"] == "Enabled"
    assert "Prefix" not in abort, "incomplete uploads are aborted everywhere in the bucket"
    # And the artifact-source pointers, under their prefix, expire after two days
    sources = rules["expire-artifact-sources"]
    assert sources["Prefix"] == "artifact-sources/"
    assert artifact_source_key("event-id", 0).startswith(sources["Prefix"])
    assert sources["ExpirationInDays"] == 2
    assert sources["Status"] == "Enabled"
