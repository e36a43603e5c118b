"""HTTP GET of an artifact's source URL, streamed (urllib3), to the addresses the policy checked.

The connection goes to one of ``FetchTarget.addresses`` (never a fresh DNS answer), with the
host name as Host header, TLS server name and certificate name. Redirects are not followed
here: the copier checks each ``Location`` against the policy first. Errors never carry the
URL (its query string holds the provider's credentials).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from functions.errors import SourceUnavailable
from functions.models.fetch import FetchTarget
from functions.ports.artifacts import Download

USER_AGENT = "eventhub-artifact-copier/1"


class _Response:
    """A streamed response body; read errors surface as ``SourceUnavailable``."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response
        self.status = response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def read(self, amount: int) -> bytes:
        try:
            return self._response.read(amount, decode_content=False)
        except (Urllib3Error, OSError) as error:
            raise SourceUnavailable(f"the body broke off ({type(error).__name__})") from None


class HttpArtifactSource:
    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 60.0) -> None:
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)

    def _pool(self, target: FetchTarget, address: str) -> urllib3.HTTPConnectionPool:
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address,
                target.port,
                timeout=self.timeout,
                retries=False,
                maxsize=1,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
            )
        return urllib3.HTTPConnectionPool(
            address, target.port, timeout=self.timeout, retries=False, maxsize=1
        )

    @contextmanager
    def open(self, target: FetchTarget) -> Iterator[Download]:
        """GET the target; yields the response with its body unread. Tries each checked address."""
        headers = {"Host": target.host_header, "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        last_error = "no address"
        for address in target.addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen(
                    "GET",
                    target.request_target,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=False,
                    assert_same_host=False,
                    release_conn=False,
                )
            except (Urllib3Error, OSError) as error:
                pool.close()
                last_error = type(error).__name__
                continue
            try:
                yield _Response(response)
            finally:
                response.close()
                pool.close()
            return
        raise SourceUnavailable(f"could not connect to {target.host} ({last_error})")
