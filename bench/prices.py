"""AWS list prices the cost suite bills with: us-east-1, on-demand, arm64 Lambda, as published
on the services' pricing pages on PRICES_DATE. One table, so a price change is one line."""

from __future__ import annotations

PRICES_DATE = "2026-12-01"
REGION = "us-east-1"

PRICES: dict[str, float] = {
    # DynamoDB on-demand (standard table class), per unit
    "dynamodb.wru": 0.625 / 1_000_000,
    "dynamodb.rru": 0.125 / 1_000_000,
    # API Gateway, per request (first 333 M a month for REST, first 300 M for HTTP APIs)
    "apigateway.rest": 3.50 / 1_000_000,
    "apigateway.http": 1.00 / 1_000_000,  # per 512 KB chunk of request
    "lambda.function_url": 0.0,  # a function URL adds nothing to the invocation's price
    # Lambda, arm64
    "lambda.request": 0.20 / 1_000_000,
    "lambda.gb_second": 0.0000133334,
    # SnapStart (Python): cache per GB-second of cached snapshot, restore per GB restored
    "lambda.snapstart_cache_gb_second": 0.0000015046,
    "lambda.snapstart_restore_gb": 0.0001397998,
    # EventBridge custom events, per 64 KB chunk of an entry
    "eventbridge.entry": 1.00 / 1_000_000,
    # S3 Standard requests
    "s3.write": 0.005 / 1_000,  # PUT, COPY, POST, LIST
    "s3.read": 0.0004 / 1_000,  # GET, HEAD and the rest
    # SQS standard, per 64 KB chunk of a request
    "sqs.request": 0.40 / 1_000_000,
    # Secrets Manager API calls
    "secretsmanager.call": 0.05 / 10_000,
    # EventBridge Scheduler invocations (poll schedules)
    "scheduler.invocation": 1.00 / 1_000_000,
    # CloudWatch Logs ingestion (standard class), per byte; every log event adds 26 bytes
    "logs.byte": 0.50 / 1024**3,
    # X-Ray traces recorded
    "xray.trace": 5.00 / 1_000_000,
}

# What Lambda itself writes per invocation (START, END and REPORT lines), in bytes, measured
# from CloudWatch log streams of arm64 Python functions with active tracing.
LAMBDA_PLATFORM_LOG_BYTES = 380
LAMBDA_PLATFORM_LOG_LINES = 3
LOG_EVENT_OVERHEAD_BYTES = 26
# One access-log line per REST API request (the stage's JSON format, about this size).
API_ACCESS_LOG_BYTES = 420

# Lambda's active-tracing sampling cannot be configured: 1 request a second, then 5 percent.
XRAY_RESERVOIR_PER_SECOND = 1.0
XRAY_FIXED_RATE = 0.05
SECONDS_PER_MONTH = 30 * 24 * 3600
