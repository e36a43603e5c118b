"""The local moto speed-ups change nothing but the time: the same items, answers and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from eventhub.local import moto_speedups
from eventhub.local.moto_speedups import simple_actions

# Each attribute keeps one type, as the hub's items do (an update that fails validation leaves a
# part of itself behind in moto's own code, and nothing in DynamoDB's or the fast path's).
TEXT = st.text(alphabet="0123456789|ab", min_size=1, max_size=6).map(lambda v: {"S": v})
NUMBER = st.integers(-5, 5).map(lambda v: {"N": str(v)})
SET = st.sets(st.sampled_from("xyz"), min_size=1).map(lambda v: {"SS": sorted(v)})
KINDS = {"a": TEXT, "w:1": TEXT, "n": NUMBER, "m": NUMBER, "tags": SET}
NAMES = list(KINDS)


def _action(name: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    verbs = ["SET", "REMOVE"] if KINDS[name] is TEXT else ["SET", "ADD", "REMOVE"]
    return st.tuples(st.sampled_from(verbs), st.just(name), KINDS[name])


actions = st.sampled_from(NAMES).flatmap(_action)
conditions = st.one_of(
    st.none(),
    st.tuples(st.just("attribute_not_exists"), st.sampled_from(NAMES), st.none()),
    st.sampled_from(NAMES).flatmap(lambda n: st.tuples(st.just("="), st.just(n), KINDS[n])),
    st.sampled_from(["a", "w:1"]).flatmap(lambda n: st.tuples(st.just("<"), st.just(n), TEXT)),
)
updates = st.tuples(st.sampled_from(["k1", "k2"]), st.lists(actions, min_size=1, max_size=4), conditions)


def _request(key: str, chosen: list[tuple[str, str, Any]], condition: Any, returns: str) -> dict[str, Any]:
    names: dict[str, str] = {}
    vals: dict[str, Any] = {}
    clauses: dict[str, list[str]] = {}
    for n, (action, name, value) in enumerate(chosen):
        if name in names.values():
            continue  # one action per attribute, as DynamoDB requires
        names[f"#a{n}"] = name
        if action == "REMOVE":
            clauses.setdefault(action, []).append(f"#a{n}")
        else:
            vals[f":v{n}"] = value
            clauses.setdefault(action, []).append(f"#a{n} = :v{n}" if action == "SET" else f"#a{n} :v{n}")
    request: dict[str, Any] = {
        "TableName": "t",
        "Key": {"id": {"S": key}},
        "UpdateExpression": " ".join(f"{a} {', '.join(c)}" for a, c in clauses.items()),
        "ExpressionAttributeNames": names,
        "ReturnValues": returns,
    }
    if condition is not None:
        kind, name, value = condition
        names["#c"] = name
        if kind == "attribute_not_exists":
            request["ConditionExpression"] = "attribute_not_exists(#c)"
        else:
            vals[":c"] = value
            request["ConditionExpression"] = f"#c {kind} :c"
    if vals:
        request["ExpressionAttributeValues"] = vals
    return request


def _run(requests: list[dict[str, Any]], fast: bool) -> list[Any]:
    moto_speedups.fast_updates = fast
    outcomes: list[Any] = []
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        for request in requests:
            try:
                answer = ddb.update_item(**request)
                outcomes.append(("ok", answer.get("Attributes")))
            except ClientError as error:
                outcomes.append(("error", error.response["Error"]["Code"]))
        for key in ("k1", "k2"):
            item = ddb.get_item(TableName="t", Key={"id": {"S": key}}).get("Item")
            outcomes.append(item)
    return outcomes


@pytest.fixture(autouse=True)
def _installed() -> Iterator[None]:
    moto_speedups.install()
    yield
    moto_speedups.fast_updates = True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(updates, min_size=1, max_size=6),
    returns=st.sampled_from(["NONE", "ALL_NEW", "UPDATED_OLD"]),
)
def test_fast_updates_give_the_items_answers_and_errors_of_motos_own(steps: list[Any], returns: str) -> None:
    # Given a sequence of simple updates (SET, ADD, REMOVE; with or without a condition)
    requests = [_request(key, chosen, condition, returns) for key, chosen, condition in steps]
    # When they run against moto's own update and against the fast one
    # Then every answer, every error and the items left are the same
    assert _run(requests, fast=True) == _run(requests, fast=False)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("SET #a = :a, b = :b ADD #n :one", [("SET", "#a", ":a"), ("SET", "b", ":b"), ("ADD", "#n", ":one")]),
        ("REMOVE #w0, #w1", [("REMOVE", "#w0", None), ("REMOVE", "#w1", None)]),
        ("SET #a = :a + :b", None),  # arithmetic
        ("SET #a = if_not_exists(#a, :z)", None),  # a function
        ("SET #m.#k = :v", None),  # a path
        ("SET #a = :a SET #b = :b", None),  # a clause twice
        ("DELETE #s :v", None),
        ("#a = :a", None),
    ],
)
def test_only_plain_actions_take_the_fast_path(expression: str, expected: Any) -> None:
    # When an update expression is read
    # Then plain SET/ADD/REMOVE actions are listed, anything else goes to moto
    assert simple_actions(expression) == expected
