"""The ``httpx`` transport every :class:`~balai.upstream.client.RegistryClient` request
goes through unless the operator allows private addresses.

A module of its own so that :mod:`balai.upstream.client` (imported by every process,
through the admin pages and the jobs) does not import ``httpx`` before a request is made.
"""

from __future__ import annotations

import httpx

from balai.upstream.client import _checked_address, _forbidden

__all__ = ["PublicOnlyTransport"]


class PublicOnlyTransport(httpx.BaseTransport):
    """An ``httpx`` transport that resolves each request's host itself, refuses it when
    any of its addresses is refused (:func:`~balai.upstream.client.refused_address`),
    and connects to the address it checked: a name that resolves to a public address
    when saved and to a private one later (DNS rebinding) is refused when the request
    is made."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        if url.scheme not in {"http", "https"}:
            raise _forbidden()
        try:
            address = _checked_address(host, port)
        except OSError as exc:
            raise httpx.ConnectError("the host name cannot be resolved", request=request) from exc
        request.url = url.copy_with(host=address)
        if url.scheme == "https":  # the certificate is still checked against the name
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
