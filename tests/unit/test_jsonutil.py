"""Strict JSON for untrusted bodies: everything refused is a MalformedPayload that says why."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions import jsonutil
from functions.errors import MalformedPayload


def test_an_object_of_every_json_type_parses_to_its_python_values() -> None:
    # When an object holding every JSON type is parsed
    # Then each value becomes its Python counterpart
    assert jsonutil.loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


def test_text_and_bytes_parse_alike() -> None:
    # When the same document is parsed as text and as UTF-8 bytes
    # Then both give the same value
    assert jsonutil.loads('{"é": "ü"}') == jsonutil.loads('{"é": "ü"}'.encode()) == {"é": "ü"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body is empty"),
        (b"  \n", "body is empty"),
        (b"\xff\xfe{}", "not UTF-8 text (invalid byte at position 0)"),
        (b'{"a": }', "not valid JSON: Expecting value at line 1 column 7"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b'{"a": -Infinity}', "-Infinity is not valid JSON"),
        (b'{"a": 1e400}', "number 1e400 is beyond the range of a double"),
        (b'{"a": -1e400}', "beyond the range of a double"),
        (b"[" + b"9" * 5000 + b"]", "not acceptable JSON: an integer has more than 4,300 digits"),
        (b'{"a": -' + b"9" * 4301 + b"}", "an integer has more than 4,300 digits"),
        (b'{"a": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'["\\udc00\\ud800"]', "unpaired UTF-16 surrogate"),
        (b"[" * 1000 + b"]" * 1000, "nested deeper than 128 levels"),
        (b"[" * 129 + b"]" * 129, "nested deeper than 128 levels"),
        (b'{"a":' * 200 + b"1" + b"}" * 200, "nested deeper than 128 levels"),
    ],
)
def test_refused_documents_say_what_is_wrong(body: bytes, message: str) -> None:
    # When a body that is empty, not UTF-8, not strict JSON, out of range or nested too deep is parsed
    # Then it is refused as malformed, saying what is wrong
    with pytest.raises(MalformedPayload, match=re.escape(message)):
        jsonutil.loads(body)


@pytest.mark.parametrize(
    "body",
    [b"[" + b"9" * 5000 + b"]", b'{"a": -' + b"1" * 100_000 + b"}", b'{"a": 1' + b"0" * 4300 + b"}"],
    ids=["5000-digits", "100000-digits-negative", "4301-digits"],
)
def test_refusal_of_a_long_integer_is_said_in_the_hubs_words(body: bytes) -> None:
    # Given an integer longer than Python reads by default
    # When the body is parsed
    with pytest.raises(MalformedPayload) as refused:
        jsonutil.loads(body)
    # Then the message says what is wrong, without Python's own hint
    assert refused.value.message == "body is not acceptable JSON: an integer has more than 4,300 digits"
    assert "sys" not in refused.value.message


def test_integer_of_4300_digits_is_read() -> None:
    # Given an integer of exactly the limit's length
    # When it is parsed, then it is read whole
    assert jsonutil.loads(b"[" + b"9" * 4300 + b"]") == [int("9" * 4300)]


def test_nesting_up_to_the_limit_is_accepted() -> None:
    # Given arrays nested exactly as deep as the limit
    depth = jsonutil.MAX_DEPTH
    # When they are parsed
    value = jsonutil.loads("[" * depth + "]" * depth)
    # Then the innermost is an empty array
    for _ in range(depth - 1):
        value = value[0]
    assert value == []


def test_many_brackets_inside_strings_do_not_count_as_nesting() -> None:
    # When a string holding a thousand opening brackets is parsed
    # Then it is read as text, not as nesting
    assert jsonutil.loads(json.dumps({"s": "[" * 1000})) == {"s": "[" * 1000}


def test_paired_surrogate_escapes_are_text() -> None:
    # When a paired surrogate escape is parsed
    # Then it is the one character it encodes
    assert jsonutil.loads(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


def test_duplicate_keys_keep_the_last_value_as_providers_sdks_do() -> None:
    # When an object holding the same key twice is parsed
    # Then the last value wins, as the providers' SDKs read it
    assert jsonutil.loads(b'{"eventId": "a", "eventId": "b"}') == {"eventId": "b"}


def test_dumps_is_compact_and_keeps_non_ascii() -> None:
    # When a value is written
    # Then it is compact, with non-ASCII text as is
    assert jsonutil.dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_dumps_refuses_nan_with_a_domain_error_in_the_hubs_words() -> None:
    # Given a value holding NaN, when it is written, then the refusal is ours
    with pytest.raises(MalformedPayload) as refused:
        jsonutil.dumps({"a": float("nan")})
    assert refused.value.message == "payload is not JSON: it holds NaN or Infinity"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, database=None)
@given(_json)
def test_what_dumps_writes_loads_reads_back_unchanged(value: object) -> None:
    # When any JSON value is written and read back
    # Then it is the same value
    assert jsonutil.loads(jsonutil.dumps(value).encode("utf-8")) == value
