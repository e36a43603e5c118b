"""A standalone moto server with the local runtime's speed-ups (eventhub/local/moto_speedups.py).

    python -m eventhub.local.moto_server -H 127.0.0.1 -p 5000

What `python -m eventhub.local --aws-endpoint-url` can be pointed at when AWS should live in a
process of its own (the load benchmark does this, so senders, the stack and AWS use both cores).
"""

from __future__ import annotations

import sys

from eventhub.local import moto_speedups


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    moto_speedups.install()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
