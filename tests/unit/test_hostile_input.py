"""Hostile input (issue 6, part 4): random bytes, truncated and huge headers, unicode, JSON nested
1,000 deep, duplicate keys, numbers beyond float range and NaN literals, thrown at every verifier,
every mapper, the JSON reader, and the whole intake path with a moto-backed store.

Properties: only HubError subclasses escape (so nothing becomes a 500); a verifier passes only a
delivery that really is signed; nothing unsigned is ever stored (the table is read back after
every case). Each property counts the cases it ran; the counts are printed at the end of the module.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions import jsonutil
from functions.adapters.event_store import EventStore
from functions.adapters.secrets import SecretResolver
from functions.errors import HubError, MalformedPayload, SignatureError
from functions.logic.intake import receive_webhook
from functions.models.config import Connection, HubConfig, PollConfig, Provider
from functions.models.event import Channel, NewEvent, event_id_for
from functions.providers import WEBHOOK_SCHEMES, exa, klavi, vai
from functions.redaction import redact_url
from tests.unit.providers import signing as s

CASES: Counter[str] = Counter()
WEBHOOK_PROVIDERS = [Provider.EXTEND, Provider.EXA, Provider.KLAVI, Provider.STANDARD_WEBHOOKS]
SIGNED_PROVIDERS = [*WEBHOOK_PROVIDERS, Provider.HMAC]  # the generic HMAC scheme: verifiers only
CONNECTIONS = {p: s.connection(p) for p in SIGNED_PROVIDERS}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
MAX_INDEX_KEY_BYTES = 2048  # DynamoDB's limit on a partition key value, GSIs included

# Every header any scheme reads; hostile deliveries mutate any of them, whatever the provider.
HEADER_NAMES = [
    "x-extend-request-timestamp",
    "x-extend-request-signature",
    "exa-signature",
    "x-klavi-signature",
    "x-klavi-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "x-test-signature",
    "x-test-timestamp",
]


@pytest.fixture(scope="module", autouse=True)
def _report_case_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    line = "hostile-input cases run: " + ", ".join(f"{k}={v}" for k, v in sorted(CASES.items()))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:  # pragma: no cover - pytest run without its capture plugin
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print("\n" + line)


# -- strategies ------------------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\u202e\u200b",
    "é" * 300,  # 600 bytes: over the identifier limit
    "x" * 600,
    "１２３",
    "²",
    "١٧٤٠٦٠٠٥١٠",
    "🙂" * 10,
    "http://[::1",
    "2025-02-26T20:08:17.848Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "signed_data_url",
    "workflow_run.completed",
    "analysis",
    "monitor",
    "webset",
]
# URLs with credentials go only where URLs belong: intake logs ids and types verbatim, and the
# suite's log guard (rightly) flags a presigned query string in any log line.
URLS = [
    "https://bucket.s3.amazonaws.com/k?X-Amz-Signature=s3cr3t&X-Amz-Credential=AKIA",
    "http://host:99999/x?sig=1",
    "http://[::1]:9000/p?token=t",
    "https://files.extend.ai/p.json?X-Amz-Expires=3600",
]
strings = st.one_of(st.text(max_size=30), st.sampled_from(ODD_STRINGS))
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([10**400, 1e308, -0.0, 5e-324, 1_740_600_510]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
    max_leaves=12,
)
ids = st.text(alphabet="abcXYZ_-.0123456789", min_size=1, max_size=16)
field = st.one_of(ids, ids, ids, strings, scalars, json_values)
url_field = st.one_of(st.sampled_from(URLS), st.sampled_from(URLS), st.text(max_size=30), scalars)


def _nest(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


deep_values = st.integers(min_value=100, max_value=1_200).map(_nest)


def _obj(**fields: st.SearchStrategy) -> st.SearchStrategy:
    """Objects with every field, or with any subset of them."""
    return st.one_of(st.fixed_dictionaries(fields), st.fixed_dictionaries({}, optional=fields))


ENVELOPES: dict[str, st.SearchStrategy] = {
    "extend": _obj(
        eventId=field,
        eventType=field,
        payload=st.one_of(
            field,
            _obj(
                object=field,
                id=field,
                data=url_field,
                updatedAt=field,
                createdAt=field,
                file=_obj(id=field),
                workflowRun=_obj(id=field),
                workflowRunId=field,
                metadata=field,
            ),
        ),
    ),
    "exa": _obj(
        id=field,
        type=field,
        createdAt=field,
        data=st.one_of(field, _obj(object=field, id=field, websetId=field)),
    ),
    "klavi": _obj(
        eventId=field,
        eventType=field,
        eventName=field,
        eventTime=field,
        partnerAppId=field,
        payload=st.one_of(field, _obj(batchId=field, monitorId=field, id=field, presignedUrl=url_field)),
    ),
    "standard-webhooks": _obj(
        type=field, eventType=field, timestamp=field, data=st.one_of(field, _obj(object=field, id=field))
    ),
    "vai": _obj(
        id=field,
        eventType=field,
        occurredAt=field,
        actorType=field,
        actorId=field,
        resourceType=field,
        resourceId=field,
        correlationId=field,
        causationId=field,
        payload=field,
    ),
}
ENVELOPES["hmac"] = ENVELOPES["standard-webhooks"]  # any JSON: its id is /id, like these

SPECIAL_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"just a string"',
    b"1e400",
    b"-1e400",
    b"NaN",
    b"-Infinity",
    b'{"eventId": "e1", "eventType": "x.y", "id": "e1", "type": "t", "payload": {"n": 1e400}}',
    b'{"eventId": "e1", "eventType": "x.y", "id": "e1", "type": "t", "payload": {"n": NaN}}',
    b'{"eventId": "e1", "eventType": "x.y", "id": "e1", "type": "t", "data": {"n": Infinity}}',
    b'{"eventId": 1e999, "eventType": "x"}',
    b'{"eventId": "e", "eventType": "x", "payload": ' + b"9" * 5_000 + b"}",
    b'{"eventId": "\\ud800", "eventType": "x", "id": "\\udfff", "type": "t"}',
    b'{"eventId": "e", "eventType": "x", "payload": {"s": "\\ud83d\\ude00"}}',
    b'{"eventId": "e", "eventId": "f", "eventType": "x", "eventType": "y", '
    b'"id": "i", "id": "j", "type": "t"}',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    b"\xff\xfe{\x00}\x00",
    b'{"a": 1}garbage',
]


def _duplicate_keys(pair: tuple[str, str]) -> bytes:
    first, second = (json.dumps(v) for v in pair)
    return (
        f'{{"eventId": {first}, "eventId": {second}, "id": {first}, "id": {second}, '
        f'"eventType": "t.x", "type": "t.x", "eventType": {second}, "payload": {{}}}}'
    ).encode()


def _deep_text(args: tuple[int, str]) -> bytes:
    depth, shape = args
    if shape == "list":
        return b"[" * depth + b"]" * depth
    if shape == "object":
        return (
            b'{"eventId": "e", "eventType": "x", "id": "e", "type": "t", "payload": '
            + (b'{"a":' * depth + b"1" + b"}" * depth)
            + b"}"
        )
    return b"[" * depth  # unbalanced


def bodies(kind: str) -> st.SearchStrategy[bytes]:
    """Bodies for one provider: mostly envelopes of its shape with hostile fields, and the rest."""
    shaped = ENVELOPES[kind].map(lambda v: json.dumps(v).encode())
    return st.one_of(
        shaped,
        shaped,
        shaped,
        st.binary(max_size=256),
        st.sampled_from(SPECIAL_BODIES),
        st.tuples(st.integers(100, 1_500), st.sampled_from(["list", "object", "open"])).map(_deep_text),
        st.tuples(strings, strings).map(_duplicate_keys),
        st.tuples(st.text(max_size=50), st.booleans()).map(
            lambda a: json.dumps(
                {"eventId": a[0], "id": a[0], "eventType": a[0], "type": a[0]}, ensure_ascii=a[1]
            ).encode()
        ),
        json_values.map(lambda v: json.dumps(v).encode()),
    )


ODD_HEADER_VALUES = st.sampled_from(
    [
        "",
        " ",
        "t=",
        "v1,",
        "v1=",
        "t=²,v1=ab",
        f"t=¹{s.NOW_TS},v1=ab",
        "١٧٤٠٦٠٠٥١٠",
        "²",
        "¹⁷⁴⁰⁶⁰⁰⁵¹⁰",
        "t=1,v1=" + "0" * 64,
        "v1,AAAA v1,",
        "v1,=== v1",
        "1740600510",
        str(s.NOW_TS),
        "-1",
        "1e9",
        "\x00",
        "😀",
    ]
)
DIGIT_LOOKALIKES = st.sampled_from(["²", "¹⁷⁴⁰⁶⁰⁰⁵¹⁰", "١٧٤٠٦٠٠٥١٠", f"t=¹{s.NOW_TS},v1=ab", "v1,²"])
HEADER_VALUES = st.one_of(
    ODD_HEADER_VALUES,
    DIGIT_LOOKALIKES,
    st.text(max_size=80),
    st.integers(8_193, 20_000).map(lambda n: "9" * n),  # huge
)
# The headers each scheme reads: mutations hit these more often than the others.
OWN_HEADERS = {
    Provider.EXTEND: HEADER_NAMES[0:2],
    Provider.EXA: HEADER_NAMES[2:3],
    Provider.KLAVI: HEADER_NAMES[3:5],
    Provider.STANDARD_WEBHOOKS: HEADER_NAMES[5:11],
    Provider.HMAC: HEADER_NAMES[11:],
}


@st.composite
def deliveries(draw: st.DrawFn, provider: Provider) -> tuple[bytes, dict[str, str], bytes, dict[str, str]]:
    """(body, headers, the body as signed, the headers as signed): signed or not, then mutated."""
    signed_body = draw(bodies(provider.value))
    original = s.signed_headers(provider, signed_body) if draw(st.booleans()) else {}
    headers = dict(original)
    for _ in range(draw(st.integers(0, 3))):
        own = st.sampled_from(OWN_HEADERS[provider])
        name = draw(st.one_of(own, own, st.sampled_from(HEADER_NAMES)))
        action = draw(st.sampled_from(["delete", "replace", "replace", "replace", "truncate", "append"]))
        if action == "delete":
            headers.pop(name, None)
        elif action == "replace":
            headers[name] = draw(HEADER_VALUES)
        elif name in headers and headers[name]:
            value = headers[name]
            if action == "truncate":
                headers[name] = value[: draw(st.integers(0, len(value) - 1))]
            else:
                headers[name] = value + draw(st.sampled_from(["0", "a", "Z", "9", "=", "+", "/"]))
    body = signed_body
    mutation = draw(st.sampled_from(["none", "none", "none", "flip", "truncate", "append"]))
    if mutation == "flip" and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ (1 << draw(st.integers(0, 7)))]) + body[at + 1 :]
    elif mutation == "truncate" and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif mutation == "append":
        body = body + draw(st.binary(min_size=1, max_size=4))
    return body, headers, signed_body, original


def _effective(provider: Provider, headers: dict[str, str]) -> list[str | None]:
    """The header values a scheme's signature check reads (normalized leniently)."""

    def get(*names: str) -> str | None:
        for name in names:
            if name in headers:
                return headers[name].strip().lower()
        return None

    if provider is Provider.EXTEND:
        return [get("x-extend-request-timestamp"), get("x-extend-request-signature")]
    if provider is Provider.EXA:
        return [get("exa-signature")]
    if provider is Provider.KLAVI:  # the Klavi timestamp is not signed: any fresh value is fine
        return [get("x-klavi-signature")]
    if provider is Provider.HMAC:
        return [get("x-test-timestamp"), get("x-test-signature")]
    return [
        get("webhook-id", "svix-id"),
        get("webhook-timestamp", "svix-timestamp"),
        get("webhook-signature", "svix-signature"),
    ]


def _compact(body: bytes) -> bytes | None:
    try:
        return s.compact(body)
    except (ValueError, RecursionError):
        return None


def _really_signed(
    provider: Provider, body: bytes, headers: dict[str, str], signed_body: bytes, original: dict[str, str]
) -> bool:
    if not original or _effective(provider, headers) != _effective(provider, original):
        return False
    return body == signed_body or (provider is Provider.KLAVI and _compact(body) == signed_body)


# -- verifiers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", SIGNED_PROVIDERS, ids=lambda p: p.value)
def test_verifiers_raise_only_signature_errors_and_pass_only_signed_deliveries(provider: Provider) -> None:
    # Given hostile deliveries: signed ones with their body and headers mutated in every way
    outcomes: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(deliveries(provider))
    def verify(case: tuple[bytes, dict[str, str], bytes, dict[str, str]]) -> None:
        body, headers, signed_body, original = case
        CASES[f"verify[{provider.value}]"] += 1
        # When the provider's verifier checks one
        try:
            delivery = s.delivery(headers, body)
            WEBHOOK_SCHEMES[provider].verify(delivery, [s.SECRETS[provider]], CONNECTIONS[provider])
        # Then it raises nothing but a signature error
        except SignatureError:
            outcomes["rejected"] += 1
            return
        # And what it passes really is signed
        outcomes["verified"] += 1
        assert _really_signed(provider, body, headers, signed_body, original)

    verify()
    # And both outcomes were exercised
    assert outcomes["verified"] > 0 and outcomes["rejected"] > 0, outcomes


# -- mappers ---------------------------------------------------------------------------------------

VAI_CONNECTION = Connection(
    id="vai-pull",
    provider=Provider.VAI,
    tenant_id="tenant-v",
    poll=PollConfig(base_url="https://vai.example", api_key="vai-hostile-key-0"),
)


def _mapper(kind: str) -> tuple[Callable[[Any], NewEvent], Connection]:
    if kind == "vai":
        return (lambda envelope: vai.map_event(envelope, VAI_CONNECTION, s.NOW)), VAI_CONNECTION
    provider = Provider(kind)
    connection = CONNECTIONS[provider]
    headers = s.standard_headers(b"{}", msg_id="msg_hostile")  # only Standard Webhooks reads headers
    delivery = s.delivery(headers, b"{}")
    return (lambda envelope: WEBHOOK_SCHEMES[provider].map(envelope, delivery, connection)), connection


def _check_event(new: NewEvent, connection: Connection) -> None:
    """What every mapped event must satisfy to be stored and served."""
    event = new.event
    tenant = connection.tenant_id
    assert event.tenant_id == tenant
    assert event.id == event_id_for(tenant, event.source, event.source_event_id)
    uuid.UUID(event.id)
    assert ISO_UTC.match(event.occurred_at), event.occurred_at
    assert ISO_UTC.match(event.received_at)
    assert event.actor_id or event.source == "vai"
    keys = [
        f"{tenant}#{event.event_type}",
        f"{tenant}#{event.correlation_id}",
        f"{tenant}#{event.resource_type}#{event.resource_id}",
    ]
    assert all(len(k.encode("utf-8", "surrogatepass")) <= MAX_INDEX_KEY_BYTES for k in keys)
    assert len(new.artifact_urls) == len(event.artifacts)
    for url, artifact in zip(new.artifact_urls, event.artifacts, strict=True):
        assert artifact.source_url == redact_url(url)
        assert "?" not in artifact.source_url
    if event.source == "klavi" and new.artifact_urls:
        assert event.payload["payload"]["presignedUrl"] == redact_url(new.artifact_urls[0])
    if event.source == "extend" and new.artifact_urls:
        assert event.payload["data"] == redact_url(new.artifact_urls[0])


MAPPER_KINDS = ["extend", "exa", "klavi", "standard-webhooks", "vai"]


@pytest.mark.parametrize("kind", MAPPER_KINDS)
def test_mappers_given_parsed_hostile_bodies_raise_only_domain_errors(kind: str) -> None:
    # Given a provider's mapper and hostile bodies that parse as JSON
    mapper, connection = _mapper(kind)
    outcomes: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(bodies(kind))
    def map_body(body: bytes) -> None:
        CASES[f"map-parsed[{kind}]"] += 1
        # When one is parsed and mapped
        try:
            new = mapper(jsonutil.loads(body))
        # Then it is refused with a domain error only
        except HubError as error:
            assert isinstance(error, MalformedPayload | SignatureError), error
            outcomes["refused"] += 1
            return
        # Or it maps to an event that can be stored and served
        outcomes["mapped"] += 1
        _check_event(new, connection)
        # And what intake stores serializes: the payload as UTF-8 JSON text, the event as JSON
        jsonutil.dumps(new.event.payload).encode("utf-8")
        new.event.model_dump_json()

    map_body()
    # And both outcomes were exercised
    assert outcomes["mapped"] > 0 and outcomes["refused"] > 0, outcomes


@pytest.mark.parametrize("kind", MAPPER_KINDS)
def test_mappers_given_any_python_value_raise_only_domain_errors(kind: str) -> None:
    # Given a provider's mapper, and envelopes, JSON values and deeply nested values of any kind
    mapper, connection = _mapper(kind)
    outcomes: Counter[str] = Counter()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.one_of(
            ENVELOPES[kind],
            json_values,
            deep_values,
            ENVELOPES[kind].flatmap(lambda e: deep_values.map(lambda d: {**e, "payload": d, "data": d})),
        )
    )
    def map_value(envelope: Any) -> None:
        CASES[f"map-value[{kind}]"] += 1
        # When one is mapped
        try:
            new = mapper(envelope)
        # Then it is refused with a hub error only
        except HubError:
            return
        # Or it maps to an event that can be stored and served
        outcomes["mapped"] += 1
        _check_event(new, connection)

    map_value()
    # And some values were mapped, so the event checks ran
    assert outcomes["mapped"] > 0, outcomes


def test_pulled_klavi_and_exa_items_map_with_the_same_guarantees() -> None:
    # Given hostile Klavi and Exa envelopes, as items of their events APIs
    mapped: Counter[str] = Counter()

    @settings(max_examples=100, deadline=None, database=None)
    @given(ENVELOPES["klavi"], ENVELOPES["exa"])
    def map_polled(klavi_item: Any, exa_item: Any) -> None:
        CASES["map-polled[klavi,exa]"] += 1
        for module, item, connection in (
            (klavi, klavi_item, CONNECTIONS[Provider.KLAVI]),
            (exa, exa_item, CONNECTIONS[Provider.EXA]),
        ):
            # When each is mapped as polled
            try:
                new = module.map_event(item, connection, s.NOW, Channel.POLL)
            # Then it is refused as malformed
            except MalformedPayload:
                continue
            # Or it maps to an event on the poll channel that can be stored and served
            mapped[module.__name__] += 1
            assert new.event.channel is Channel.POLL
            _check_event(new, connection)

    map_polled()
    # And items of both providers were mapped
    assert mapped[klavi.__name__] > 0 and mapped[exa.__name__] > 0, mapped


# -- the JSON reader ---------------------------------------------------------------------------------


def test_json_reader_refuses_with_malformed_payload_only() -> None:
    # Given hostile bodies, random bytes and random text
    outcomes: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.one_of(bodies("extend"), st.binary(max_size=512), st.text(max_size=200).map(str.encode)))
    def read(body: bytes) -> None:
        CASES["jsonutil.loads"] += 1
        # When one is read as JSON
        try:
            value = jsonutil.loads(body)
        # Then it is refused as malformed only
        except MalformedPayload:
            outcomes["refused"] += 1
            return
        # Or what it accepts can be written back as UTF-8 and serialized by the canonical event
        outcomes["read"] += 1
        jsonutil.dumps(value).encode("utf-8")

    read()
    # And both outcomes were exercised
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes


# -- the whole intake path, against moto -------------------------------------------------------------

INTAKE_CONFIG = HubConfig(connections=list(CONNECTIONS.values()))
CONNECTION_IDS = {p: c.id for p, c in CONNECTIONS.items()}


@st.composite
def intake_cases(draw: st.DrawFn) -> tuple[Provider, bytes, dict[str, str], str]:
    """A delivery and what it is: "intact" (signed, unchanged), "forged" (its signature cannot
    hold), or "authentic" (signed, but an unsigned header changed: Klavi's timestamp)."""
    provider = draw(st.sampled_from(WEBHOOK_PROVIDERS))
    body, headers, signed_body, original = draw(deliveries(provider))
    if draw(st.booleans()):  # half the cases: a genuinely signed hostile body
        return provider, signed_body, s.signed_headers(provider, signed_body), "intact"
    if (
        original
        and body == signed_body
        and all(headers.get(h) == original.get(h) for h in OWN_HEADERS[provider])
    ):
        return provider, body, headers, "intact"
    if _really_signed(provider, body, headers, signed_body, original):
        return provider, body, headers, "authentic"
    return provider, body, headers, "forged"


def _stored_ids(aws: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    params: dict[str, Any] = {"TableName": aws["table"], "ProjectionExpression": "id"}
    while True:
        page = aws["dynamodb"].scan(**params)
        ids.update(item["id"]["S"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return ids
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _stored_count(aws: dict[str, Any]) -> int:
    return aws["dynamodb"].scan(TableName=aws["table"], Select="COUNT")["Count"]


def test_intake_lets_only_domain_errors_escape_and_stores_nothing_unsigned(
    aws: dict[str, Any], store: EventStore
) -> None:
    # Given hostile deliveries to every webhook provider: intact, forged, or authentic but altered
    secrets = SecretResolver()
    accepted: set[str] = set()
    outcomes: Counter[str] = Counter()

    @settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(intake_cases())
    def intake(case: tuple[Provider, bytes, dict[str, str], str]) -> None:
        provider, body, headers, kind = case
        CASES["receive_webhook"] += 1
        # When intake receives one
        try:
            result = receive_webhook(
                CONNECTION_IDS[provider],
                headers,
                body,
                s.NOW + timedelta(seconds=1),
                config=INTAKE_CONFIG,
                secrets=secrets,
                store=store,
            )
        except HubError as error:
            outcomes[type(error).__name__] += 1
            # Then a signed delivery is never refused as unsigned; a healthy store never answers 5xx
            assert error.status_code < 500, error
            if kind == "intact":
                assert isinstance(error, MalformedPayload), error
            elif kind == "forged":
                assert isinstance(error, SignatureError), error
        else:
            # And a forged one is never accepted
            outcomes["duplicate" if result.duplicate else "stored"] += 1
            assert kind != "forged", "a delivery without a valid signature was accepted"
            accepted.add(result.id)
        # And the table holds the accepted events and nothing else (every accepted id
        # is stored, so equal counts mean no other item; the ids are compared at the end).
        assert _stored_count(aws) == len(accepted)

    intake()
    # And the ids stored are those accepted, with every outcome exercised
    assert _stored_ids(aws) == accepted
    assert outcomes["stored"] > 0 and outcomes["SignatureError"] > 0 and outcomes["MalformedPayload"] > 0
    CASES.update({f"receive_webhook:{k}": v for k, v in outcomes.items()})
