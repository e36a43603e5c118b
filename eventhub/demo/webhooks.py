"""The demo's webhooks: a sample of ``events/webhooks/`` to each webhook connection, signed now.

Each connection gets its provider's sample, signed with its first secret as ``make send`` signs
it. Klavi's sample points at a real-looking S3 URL that a local run refuses to fetch; the demo
moves that URL onto the Klavi fake, which serves the file, so the webhook's artifact is copied.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from eventhub.local.signing import sign
from functions.models.config import HubConfig, Provider

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "events" / "webhooks"
SAMPLES = {
    Provider.EXTEND: "extend/classify_run.processed.json",
    Provider.EXA: "exa/webset.created.json",
    Provider.KLAVI: "klavi/analysis_finished.json",
    Provider.STANDARD_WEBHOOKS: "standard-webhooks/invoice.paid.json",
}


@dataclass(frozen=True)
class Delivery:
    """One webhook posted: where, which sample, and what the hub answered."""

    connection_id: str
    provider: str
    tenant_id: str
    sample: str
    status: int
    answer: str

    @property
    def stored(self) -> bool:
        """Accepted and new (a redelivery is accepted too, but stores nothing)."""
        return 200 <= self.status < 300 and not self._answer().get("duplicate", False)

    def line(self) -> str:
        where = f"webhook {self.connection_id} ({self.provider}, tenant {self.tenant_id}) {self.sample}"
        if not 200 <= self.status < 300:
            return f"{where}: {self.status} {self.answer[:200]}"
        outcome = "a redelivery, already stored" if not self.stored else "stored"
        return f"{where}: {self.status}, {outcome} as event {self._answer().get('id')}"

    def _answer(self) -> dict[str, Any]:
        try:
            answer = json.loads(self.answer)
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}


def klavi_on_fake(body: bytes, fake_url: str) -> bytes:
    """The Klavi sample with its presigned URL's host moved to the Klavi fake (query kept)."""
    event = json.loads(body)
    payload = event.get("payload") or {}
    url = urlsplit(str(payload.get("presignedUrl") or ""))
    fake = urlsplit(fake_url)
    batch = payload.get("batchId") or "sample"
    payload["presignedUrl"] = urlunsplit((fake.scheme, fake.netloc, f"/results/{batch}.json", url.query, ""))
    return json.dumps(event, indent=2).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def send_samples(
    config: HubConfig, stack_url: str, *, klavi_url: str | None = None, samples_dir: Path = SAMPLES_DIR
) -> list[Delivery]:
    """Post one sample to every webhook connection whose first secret is a value."""
    deliveries = []
    for connection in config.connections:
        sample = SAMPLES.get(connection.provider)
        secret = connection.secrets[0] if connection.secrets else None
        if sample is None or not isinstance(secret, str):
            continue
        body = (samples_dir / sample).read_bytes()
        if connection.provider is Provider.KLAVI and klavi_url:
            body = klavi_on_fake(body, klavi_url)
        headers = sign(connection.provider, secret, body)
        status, answer = post(f"{stack_url}/webhooks/{connection.id}", body, headers)
        deliveries.append(
            Delivery(connection.id, connection.provider.value, connection.tenant_id, sample, status, answer)
        )
    return deliveries
