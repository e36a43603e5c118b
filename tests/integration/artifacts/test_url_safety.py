"""The SSRF gate: refused URLs are marked ``refused`` with a reason, and no request is made."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from functions.logic.copying.run import copy_pending_artifacts
from functions.logic.url_policy import Refused, check_url, host_allowed
from functions.models.event import ArtifactStatus
from tests.integration.artifacts.conftest import Copying, presigned

S3_HOST = "klavi-results.s3.sa-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "plain http"),
        ("https://169.254.169.254/latest/meta-data/", "IP address"),
        ("https://files.attacker.example/result.zip", "allowlist"),
        ("https://amazonaws.com.attacker.example/result.zip", "allowlist"),
        (f"http://{S3_HOST}/result.zip", "plain http"),
        ("https://[::1]/result.zip", "IP address"),
        ("https://10.0.0.8/result.zip", "IP address"),
        ("https://2130706433/result.zip", "IP address"),
        ("https://0x7f.1/result.zip", "IP address"),
        ("ftp://files.amazonaws.com/result.zip", "scheme"),
        (f"https://{S3_HOST}:22/result.zip", "port 22"),
        (f"https://{S3_HOST}:8443/result.zip", "port 8443"),
        ("https://klavi results.s3.sa-east-1.amazonaws.com/result.zip", "well-formed"),
        ("https://klavi%2eresults.s3.sa-east-1.amazonaws.com/result.zip", "well-formed"),
        ("https://-results.s3.sa-east-1.amazonaws.com/result.zip", "well-formed"),
        ("https://results..s3.sa-east-1.amazonaws.com/result.zip", "well-formed"),
    ],
    ids=[
        "metadata-over-http",
        "metadata-over-https",
        "host-off-allowlist",
        "allowlist-suffix-trick",
        "plain-http-to-allowed-host",
        "ipv6-literal",
        "private-ip-literal",
        "decimal-ip",
        "hex-ip",
        "ftp",
        "allowed-host-on-the-ssh-port",
        "allowed-host-on-a-port-no-entry-names",
        "host-with-a-space",
        "host-with-a-percent-escape",
        "label-starting-with-a-hyphen",
        "empty-label",
    ],
)
def test_url_outside_the_policy_is_refused_without_a_request(copying: Copying, url: str, says: str) -> None:
    # Given a Klavi event whose URL the policy does not admit
    event_id = copying.klavi_event(presigned(url))

    # When the copier runs
    report = copy_pending_artifacts(event_id, copying.deps())

    # Then the artifact is refused with a reason, and nothing was looked up or fetched
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.REFUSED
    assert says.lower() in (artifact.reason or "").lower()
    assert copying.source.opened == [] and copying.resolved == []
    assert not report.needs_retry


@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], ["52.95.163.10", "169.254.169.254"], ["::ffff:127.0.0.1"], ["fd00::1"], ["100.64.0.9"]],
    ids=["private", "one-of-several-link-local", "ipv4-mapped-loopback", "ipv6-unique-local", "carrier-nat"],
)
def test_allowed_host_resolving_to_a_non_public_address_is_refused(
    copying: Copying, addresses: list[str]
) -> None:
    # Given an allow-listed host name whose DNS answer includes an internal address
    copying.resolve_to[S3_HOST] = addresses
    event_id = copying.klavi_event(presigned(f"https://{S3_HOST}/result.zip"))

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then it is refused after the lookup, before any connection
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.REFUSED
    assert "non-public address" in (artifact.reason or "")
    assert copying.resolved == [S3_HOST] and copying.source.opened == []


def test_redirect_to_the_metadata_service_is_refused(copying: Copying, httpserver: HTTPServer) -> None:
    # Given an admitted URL that redirects to the instance metadata service
    httpserver.expect_request("/r.bin").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    event_id = copying.klavi_event(presigned(httpserver.url_for("/r.bin")))

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the redirect is not followed
    artifact = copying.store.get(event_id).artifacts[0]
    assert artifact.status is ArtifactStatus.REFUSED and "redirect" in (artifact.reason or "")
    assert [t.host for t in copying.source.opened] == [httpserver.host]


def test_loopback_is_refused_unless_the_flag_is_on(copying: Copying, httpserver: HTTPServer) -> None:
    # Given the default configuration (allowLoopbackArtifacts off) and a file on 127.0.0.1
    copying.config = copying.config.model_copy(update={"allow_loopback_artifacts": False})
    httpserver.expect_request("/local.bin").respond_with_data(b"local")
    event_id = copying.klavi_event(presigned(httpserver.url_for("/local.bin")))

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then it is refused and the server saw no request
    assert copying.store.get(event_id).artifacts[0].status is ArtifactStatus.REFUSED
    assert httpserver.log == [] and copying.source.opened == []


def test_connection_artifact_hosts_override_the_provider_default(copying: Copying) -> None:
    # Given a connection that allows only its own file host
    klavi = copying.config.connections[0].model_copy(update={"artifact_hosts": ["files.partner.example"]})
    copying.config = copying.config.model_copy(update={"connections": [klavi, copying.config.connections[1]]})
    event_id = copying.klavi_event(presigned(f"https://{S3_HOST}/result.zip"))

    # When the copier runs
    copy_pending_artifacts(event_id, copying.deps())

    # Then the provider's default (*.amazonaws.com) no longer applies
    assert copying.store.get(event_id).artifacts[0].status is ArtifactStatus.REFUSED
    assert copying.source.opened == []


def test_check_url_pins_the_checked_addresses() -> None:
    # Given an allow-listed host resolving to public addresses
    target = check_url(
        f"https://{S3_HOST}/a/b.zip?X-Amz-Signature=abc",
        ["*.amazonaws.com"],
        resolve=lambda host, port: ["52.95.163.10", "2600:1f18::1"],
    )
    # Then the fetch goes to exactly those, with the name for Host and TLS
    assert target.addresses == ("52.95.163.10", "2600:1f18::1")
    assert (target.host, target.port, target.host_header) == (S3_HOST, 443, S3_HOST)
    assert target.request_target == "/a/b.zip?X-Amz-Signature=abc"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("bucket.s3.amazonaws.com", True),
        ("BUCKET.S3.AMAZONAWS.COM.", True),
        ("amazonaws.com", False),
        ("evilamazonaws.com", False),
        ("amazonaws.com.evil.io", False),
    ],
)
def test_host_patterns_match_whole_names(host: str, allowed: bool) -> None:
    # When a host name is matched against a wildcard pattern
    # Then it is allowed only as a whole subdomain of the pattern's domain (any case, trailing dot or not)
    assert host_allowed(host, ["*.amazonaws.com"]) is allowed


def test_refusal_reason_never_contains_the_query() -> None:
    # Given a URL to a host outside the allow list, signed in its query
    # When it is checked
    # Then it is refused
    with pytest.raises(Refused) as refused:
        check_url(
            "https://files.attacker.example/x?X-Amz-Signature=topsecret",
            ["*.amazonaws.com"],
            resolve=lambda host, port: ["52.95.163.10"],
        )
    # And the reason given does not hold the query's signature
    assert "topsecret" not in refused.value.reason


@pytest.mark.parametrize(
    ("url", "patterns", "port"),
    [
        (f"https://{S3_HOST}/r.zip", ["*.amazonaws.com"], 443),
        (f"https://{S3_HOST}:443/r.zip", ["*.amazonaws.com"], 443),
        ("https://files.partner.example:8443/r.zip", ["files.partner.example:8443"], 8443),
        ("https://files.partner.example:8443/r.zip", ["*.amazonaws.com", "*.partner.example:8443"], 8443),
    ],
    ids=["default-port", "default-port-spelt-out", "port-the-entry-names", "port-of-a-glob-entry"],
)
def test_default_port_or_the_port_an_entry_names_is_admitted(
    url: str, patterns: list[str], port: int
) -> None:
    # Given an allow-listed host on the scheme's default port, or on a port its entry names
    # When the URL is checked
    target = check_url(url, patterns, resolve=lambda host, port: ["52.95.163.10"])
    # Then it is admitted on that port
    assert target.port == port


def test_entry_with_a_port_admits_that_port_only() -> None:
    # Given an entry that names port 8443
    patterns = ["files.partner.example:8443"]
    # When the same host is asked for on the default port, or on another one
    # Then both are refused
    for url in ("https://files.partner.example/r.zip", "https://files.partner.example:9443/r.zip"):
        with pytest.raises(Refused, match="port"):
            check_url(url, patterns, resolve=lambda host, port: ["52.95.163.10"])
