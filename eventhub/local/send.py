"""`make send SAMPLE=events/... CONNECTION=id`: sign a sample body for a connection of the local
config with the current time, post it to the local gateway, print the response.

    python -m eventhub.local.send --sample events/webhooks/extend/classify_run.processed.json \
        --connection extend-dev
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from eventhub.local.signing import sign
from functions.models.config import HubConfig, load_config


def secret_for(config: HubConfig, connection_id: str) -> tuple[str, str]:
    """(provider, secret) of a webhook connection; the first secret is the one senders use."""
    connection = config.connection(connection_id)
    if connection is None:
        known = ", ".join(c.id for c in config.connections if c.receives_webhooks)
        raise SystemExit(f"no connection {connection_id!r} in the config (webhook connections: {known})")
    if not connection.receives_webhooks:
        raise SystemExit(f"connection {connection_id!r} has no webhook secrets (it is polled)")
    if not connection.secrets:
        raise SystemExit(
            f"connection {connection_id!r} verifies by public keys only; send signs with a secret"
        )
    secret = connection.secrets[0]
    if not isinstance(secret, str):
        raise SystemExit(f"connection {connection_id!r} names a Secrets Manager secret; send needs its value")
    return connection.provider.value, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventhub.local.send", description=__doc__)
    parser.add_argument("--sample", required=True, type=Path, help="a JSON body under events/webhooks/")
    parser.add_argument("--connection", required=True, help="a webhook connection id of the config")
    parser.add_argument("--config", default=os.environ.get("CONFIG") or "config/local.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument(
        "--message-id", default=None, help="Standard Webhooks (or hmac idHeader) id; default: from the body"
    )
    args = parser.parse_args(argv)

    config = load_config(args.config)
    provider, secret = secret_for(config, args.connection)
    body = args.sample.read_bytes()
    connection = config.connection(args.connection)
    settings = connection.hmac if connection is not None else None
    headers = sign(provider, secret, body, message_id=args.message_id, hmac_settings=settings)
    url = f"http://{args.host}:{args.port}/webhooks/{args.connection}"
    print(f"POST {url} ({provider}, {len(body)} bytes, signed now)")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - local URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except urllib.error.URLError as error:
        print(f"cannot reach {url}: {error.reason} (is `make run` running?)", file=sys.stderr)
        return 2
    print(status, text)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
