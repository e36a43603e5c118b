"""Copying an event's result files into our bucket: checked, streamed, idempotent.

For each artifact the copier takes the credentialed URL its item keeps (``artifactSources``,
written with the event, never served; events stored before read it from the bucket), checks it
against the connection's policy (``url_policy``), streams the GET into an S3 multipart upload
one part at a time (memory stays flat whatever the size) while hashing it, and records the
outcome on the event:

- ``copied``: size, sha256, content type and S3 key recorded.
- ``refused``: the policy said no; no request was made.
- ``expired``: the source answered 403 (a presigned URL past its expiry); not retried.
- ``failed``: too large, a 4xx, or transient errors (5xx, connection) that outlasted the
  retries. Only the transient kind is ``retryable`` and asks the caller to retry (the stream
  copier reports the record as failed so Lambda retries it, then sends it to the DLQ).

The write that records a final outcome (all but a retryable failure) removes the URL from the
item: it does not outlive the copy, and a recopy retries only what still has it.

Idempotent: a copied artifact is never fetched again, and every attempt first aborts the
incomplete multipart uploads of its key, so a re-run after a crash mid-upload completes and
leaves none behind. Extend's ``signed_data_url``: the fetched JSON becomes the event's payload.

- ``deps``: the adapters (ports) and settings a copy needs, and the transfer's sizes.
- ``run``: which artifacts of an event are copied, with retries; the report.
- ``transfer``: one transfer, through redirects, into the bucket.
- ``outcomes``: each outcome recorded on the event, with its metric and log line.
"""
