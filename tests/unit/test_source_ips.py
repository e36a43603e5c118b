"""Which source addresses a connection with allowedSourceIps admits."""

from __future__ import annotations

import pytest

from functions.logic.source_ips import source_admitted

ALLOWED = ["18.230.43.17", "10.0.0.0/24", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("source_ip", "admitted"),
    [
        ("18.230.43.17", True),
        ("18.230.43.18", False),
        ("10.0.0.255", True),
        ("10.0.1.0", False),
        ("::ffff:18.230.43.17", True),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        (None, False),
        ("", False),
        ("not-an-address", False),
    ],
)
def test_only_listed_addresses_and_networks_are_admitted(source_ip: str | None, admitted: bool) -> None:
    # Given a connection listing an address and two networks
    # When a request comes from source_ip, then it is admitted only if the list covers it
    assert source_admitted(ALLOWED, source_ip) is admitted


def test_connection_without_a_list_admits_any_source_even_none() -> None:
    # Given no allowedSourceIps, when a request comes from anywhere (or from nowhere we can read)
    # Then it is admitted: the signature alone decides, as before
    assert source_admitted(None, "203.0.113.9") and source_admitted(None, None)
