"""Names, sizes and limits of the stack, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

from functions.models.blob_keys import ARTIFACT_SOURCE_PREFIX

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = ROOT / "functions"
# What the Lambda code asset holds besides the dependencies, relative to ROOT: the functions
# package (the console's static files, served by the query function at /console, are part of it).
BUNDLED_SOURCES = ("functions",)
PYPROJECT = ROOT / "pyproject.toml"
# The functions' run-time dependencies, pinned with hashes (make lock); bundled, and installed by make.
LAMBDA_LOCK = ROOT / "infra" / "requirements.lock"
MIN_PYTHON_VERSION = "3.11"  # pyproject's requires-python: the lock's markers cover it and up
EXAMPLE_CONFIG = ROOT / "config" / "aws.example.json"

STACK_NAME = "EventHub"
CONFIG_CONTEXT_KEY = "config"
CONFIG_ENV_VAR = "EVENTHUB_STACK_CONFIG"
# Secrets the functions may read: webhook secrets and poll credentials are named under it.
SECRET_PREFIX = "eventhub/"  # noqa: S105 - a name prefix, not a secret
RETENTION_CONTEXT_KEY = "retentionDays"

# -- Lambda -----------------------------------------------------------------------------------
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = "3.13"
# Provided by the Lambda Python runtime: bundling them again would pair a bundled botocore with
# the runtime's boto3.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")

SERVICE_NAME = "eventhub"  # POWERTOOLS_SERVICE_NAME, and the `service` dimension of every metric
METRICS_NAMESPACE = "EventHub"
LOG_LEVEL = "INFO"
LOG_RETENTION_DAYS = 30

# Lambda allows 4 KB for all of a function's environment variables together (keys and values).
# Ours are resource names and settings only (the registry holds connections and keys): a fixed
# size, whatever the registry holds.
LAMBDA_ENV_LIMIT_BYTES = 4096


@dataclass(frozen=True)
class FunctionSpec:
    """Entry point and sizing of one Lambda function.

    Memory also buys CPU (a full vCPU at 1,769 MB, a share below). A function that mostly waits on
    DynamoDB, S3 or a provider pays for its memory through the wait, so it gets what its peak
    needs with room; one whose time is its own CPU (parsing, serializing, imports at a cold start)
    costs about the same at any size and answers sooner with more. Sizes from the cost suite's
    CPU time per invocation and each handler's peak RSS (docs/performance.md, "Memory per
    function").
    """

    name: str
    handler: str
    memory_mb: int
    timeout: Duration
    description: str


# Intake and query: much of their time is CPU (a webhook ~4 ms of a full core, a read ~30 ms, a
# cold start's imports ~0.3 s), so less memory would save little and answer, and start, slower.
INTAKE = FunctionSpec(
    "Intake", "functions.handlers.intake.handler", 512, Duration.seconds(20),
    "POST /webhooks/{connectionId} on its function URL: verify, map and store provider webhooks",
)  # fmt: skip
QUERY = FunctionSpec(
    "Query", "functions.handlers.query.handler", 512, Duration.seconds(20),
    "GET /api/v1/events..., /openapi.json, /docs, /console: tenant-scoped reads",
)  # fmt: skip
# Poller: waits on the provider and the table (~3 ms of CPU per event), peaks at ~66 MiB, and
# nobody waits for it.
POLLER = FunctionSpec(
    "Poller", "functions.handlers.poller.handler", 256, Duration.minutes(5),
    "Scheduled pull of one poll connection (Klavi, VAI, Exa)",
)  # fmt: skip
# Copier: waits on the source and S3 (~15 ms of CPU per small file); a large file holds 8 MiB
# parts x 4 in flight, one being read and one being hashed: ~75 MiB peak + ~42 MiB, so 512 MB
# leaves four times that, and 0.29 of a vCPU hashes a 5 GiB file well within the timeout.
COPIER = FunctionSpec(
    "Copier", "functions.handlers.copier.handler", 512, Duration.minutes(15),
    "Streams pending artifacts from presigned URLs into the data bucket",
)  # fmt: skip
# Publisher and aggregator: ~56-58 MiB at rest, but a batch of 100 records (up to 6 MB of
# images, payloads parsed and serialized again) needs the room above that.
PUBLISHER = FunctionSpec(
    "Publisher", "functions.handlers.publisher.handler", 256, Duration.minutes(1),
    "Puts every stored event (and each finished result file) on the hub's EventBridge bus",
)  # fmt: skip
AGGREGATOR = FunctionSpec(
    "Aggregator", "functions.handlers.aggregator.handler", 256, Duration.minutes(1),
    "Keeps per-tenant counter items from the table's stream",
)  # fmt: skip

# -- Data bucket --------------------------------------------------------------------------------
# Source URLs with their credentials, of events stored before the URLs were kept in the event's
# item: the rule expires what is left of them (nothing new is written under the prefix).
ARTIFACT_SOURCES_PREFIX = ARTIFACT_SOURCE_PREFIX
ARTIFACT_SOURCES_EXPIRY = Duration.days(2)
ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(1)
ACCESS_LOGS_PREFIX = "data-bucket/"
ACCESS_LOGS_EXPIRY = Duration.days(90)

# -- Webhooks: the intake's function URL ----------------------------------------------------------
WEBHOOK_ENDPOINT = "function-url"  # what the cost suite prices webhooks at (docs/webhook-endpoint.md)
WEBHOOK_PATH = "webhooks"  # a connection's webhook URL: <function URL>webhooks/<connection id>
# The intake's reserved concurrency bounds the function URL: at most this many deliveries at once
# and 10x this many requests per second; beyond either the URL answers 429 and senders retry.
# -c intakeConcurrency=N sets another figure, =unreserved none (an account whose concurrency quota
# leaves no room to reserve: Lambda keeps 100 unreserved).
INTAKE_RESERVED_CONCURRENCY = 20
INTAKE_CONCURRENCY_CONTEXT_KEY = "intakeConcurrency"

# -- Query API: the REST API ----------------------------------------------------------------------
# -c querySnapStart=on: Lambda SnapStart on the query function (its cold starts are the ones a user
# waits for). The function is then published as versions and the API invokes the alias below;
# docs/performance.md ("Cold start") has what it costs and why the other functions go without.
QUERY_SNAP_START_CONTEXT_KEY = "querySnapStart"
QUERY_ALIAS = "live"
STAGE_NAME = "prod"
# Declared binary content travels base64-encoded through the REST API; everything else as text.
BINARY_MEDIA_TYPES = ["application/octet-stream"]
STAGE_RATE_LIMIT = 200  # requests per second, whole stage
STAGE_BURST_LIMIT = 400
# -c apiGatewayAccountRole=existing: the account already has API Gateway's CloudWatch role set
# (Settings in the API Gateway console); the stack then leaves AWS::ApiGateway::Account alone.
ACCOUNT_ROLE_CONTEXT_KEY = "apiGatewayAccountRole"

# -- Pollers --------------------------------------------------------------------------------------
SCHEDULE_RETRY_ATTEMPTS = 2
# A missed run is superseded by the next one: never deliver an invocation older than this.
SCHEDULE_MAX_EVENT_AGE = Duration.minutes(10)
# A poll run that raises is retried once by Lambda (within SCHEDULE_MAX_EVENT_AGE), then its
# invocation goes to the pollers' DLQ; the next scheduled run resumes from the checkpoint anyway.
POLLER_ASYNC_RETRY_ATTEMPTS = 1
QUEUE_RETENTION = Duration.days(14)

# -- Stream consumers -----------------------------------------------------------------------------
COPIER_BATCH_SIZE = 4
COPIER_RETRY_ATTEMPTS = 3
COPIER_MAX_RECORD_AGE = Duration.hours(6)  # presigned URLs expire; an older record is no use
AGGREGATOR_BATCH_SIZE = 100
# A batch costs one write per counter it touches, whatever its number of events: at a million
# events a month (0.4 a second) a 60 s window makes batches of ~23 events, where 5 s made ~2.
# Aggregates lag the events by up to this much (their sub-minute edges are read raw).
AGGREGATOR_BATCHING_WINDOW = Duration.seconds(60)
# The tumbling window is how Lambda passes the shard id the counters' watermarks are kept by; the
# function keeps no window state, so the longest window means the fewest end-of-window invokes.
AGGREGATOR_TUMBLING_WINDOW = Duration.seconds(900)
# Counting is idempotent, so a failing batch is retried until it succeeds or its records leave the
# stream (24 hours): a batch given up while later ones went on could not be redriven exactly (the
# counters' watermarks would be past it), and rebuild-counters is the repair for expired records.
AGGREGATOR_RETRY_ATTEMPTS: int | None = None  # None: Lambda's -1, retry until the record expires
AGGREGATOR_MAX_RECORD_AGE = Duration.hours(24)
PUBLISHER_BATCH_SIZE = 100
PUBLISHER_BATCHING_WINDOW = Duration.seconds(1)
PUBLISHER_RETRY_ATTEMPTS = 5
PUBLISHER_MAX_RECORD_AGE = Duration.hours(24)

# -- Monitoring -----------------------------------------------------------------------------------
ALARM_PERIOD = Duration.minutes(5)
SIGNATURE_REJECTION_SPIKE = 25  # rejected webhooks in one period
ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000
