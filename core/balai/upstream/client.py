"""The HTTP client of an upstream registry's JSON API (``/api/v1/registry/...``).

Free of Flask requests and of the database: the admin pages, the background job and
the ``balai`` command all talk to the upstream through :class:`RegistryClient`. Every
call has a timeout; what goes wrong comes back as one :class:`UpstreamError` whose
message (translatable) says what the admin can do about it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask_babel import lazy_gettext as _l

from balai import __version__

if TYPE_CHECKING:  # httpx is imported when a request is made, not with the module
    import httpx

__all__ = [
    "API_PATH",
    "CONNECT_TIMEOUT",
    "MAX_DOWNLOAD",
    "READ_TIMEOUT",
    "SIMPLE_JSON",
    "RegistryClient",
    "UpstreamError",
    "UpstreamForbidden",
    "UpstreamInvalid",
    "UpstreamNotFound",
    "UpstreamRefused",
    "UpstreamUnreachable",
    "check_public",
    "check_url",
    "refused_address",
]

API_PATH = "/api/v1/registry"
#: The fields the client sends; an upstream's complaint about one of them is shown on it.
SENT_FIELDS = frozenset(
    {"plugin", "version", "severity", "title", "body", "patch", "derived", "instance"}
    | {"region", "core_version", "plugins"}
)
#: The JSON form of the simple index (PEP 691).
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
#: The largest plugin file :meth:`RegistryClient.download` takes (the registry's own limit).
MAX_DOWNLOAD = 256 * 2**20
#: Seconds to wait for each read and to connect (``httpx.Timeout(10.0, connect=5.0)``):
#: an upstream that does not answer within them is reported unreachable rather than
#: holding a web worker.
READ_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0


class UpstreamError(Exception):
    """The upstream registry could not do what was asked; ``str()`` says why."""

    def __init__(self, message: Any, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return str(self.message)


class UpstreamUnreachable(UpstreamError):
    """No answer: wrong address, the upstream is down, or the network is."""


class UpstreamRefused(UpstreamError):
    """The upstream refused the region's registry token (missing, wrong, revoked)."""


class UpstreamNotFound(UpstreamError):
    """The upstream has no such plugin or evaluation."""


class UpstreamInvalid(UpstreamError):
    """The upstream refused what was sent; ``fields`` names what was wrong."""

    def __init__(self, message: Any, fields: Mapping[str, Any], *, status: int) -> None:
        super().__init__(message, status=status)
        self.fields = dict(fields)


class UpstreamForbidden(UpstreamError):
    """The address leads to a private, local or reserved network, which the server does
    not contact unless the operator allows it (``REGISTRY_ALLOW_PRIVATE_ADDRESSES``)."""


def check_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an ``http(s)`` address with a host
    (and no user name or password in it).

    :raises ValueError: it is not one.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ValueError(url)
    if "@" in parts.netloc:
        raise ValueError(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(url) from None
    return url.rstrip("/")


#: IPv6 networks that carry an IPv4 address (NAT64): checked as that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refused_address(address: str) -> bool:
    """Whether the server refuses to contact ``address`` (an IP address) as an upstream:
    private, loopback, link-local, multicast, reserved, unspecified or otherwise not
    globally reachable, IPv4 or IPv6 (an IPv4 address inside IPv6 counts as itself)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return refused_address(str(ip.ipv4_mapped))
        embedded = ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and refused_address(str(embedded)):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _forbidden() -> UpstreamForbidden:
    return UpstreamForbidden(
        _l(
            "This address leads to a private, local or reserved network, which the server "
            "does not contact. Enter the public address of the upstream registry."
        )
    )


def _resolve(host: str, port: int) -> list[str]:
    """Every IP address ``host`` stands for (itself, if it is one).

    :raises OSError: the name cannot be resolved.
    """
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _checked_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: one it resolves to, when none of them is
    refused (:func:`refused_address`).

    :raises UpstreamForbidden: one of them is refused.
    :raises OSError: the name cannot be resolved.
    """
    addresses = _resolve(host, port)
    if not addresses or any(refused_address(a) for a in addresses):
        raise _forbidden()
    return addresses[0]


def check_public(url: str) -> None:
    """Check, when saving it, that ``url`` (an address :func:`check_url` accepts) leads to
    a public address.

    :raises UpstreamForbidden: its host is, or resolves to, a refused address.
    :raises UpstreamUnreachable: its host name cannot be resolved.
    """
    parts = urlsplit(check_url(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _checked_address(parts.hostname or "", port)
    except OSError as exc:
        raise UpstreamUnreachable(
            _l("The host name of this address cannot be found: check the address.")
        ) from exc


class RegistryClient:
    """One upstream registry, reached at ``base_url``, as one region (``token``).

    :param base_url: the upstream Balai's address, e.g. ``https://balai.tangerangkota.go.id``.
    :param token: the region's registry token (``balai-reg-...``), sent as a bearer token.
    :param allow_private: contact private, local and reserved addresses too (the
        operator's ``REGISTRY_ALLOW_PRIVATE_ADDRESSES``); by default every request is
        checked with :class:`PublicOnlyTransport` and such addresses are refused.
    :param timeout: seconds (or an ``httpx.Timeout``); by default
        :data:`READ_TIMEOUT`, and :data:`CONNECT_TIMEOUT` to connect.
    :param transport: an ``httpx`` transport, for tests that answer in-process.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        allow_private: bool = False,
        timeout: httpx.Timeout | float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx  # here, not at the top: most processes never contact an upstream

        from balai.upstream.transport import PublicOnlyTransport

        self.base_url = check_url(base_url)
        if timeout is None:
            timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        if not allow_private:
            transport = PublicOnlyTransport(transport)
        headers = {"User-Agent": f"balai/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url + API_PATH,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- catalogue ---------------------------------------------------------------

    def plugins(self, query: str = "", page: int = 1) -> dict[str, Any]:
        """One page of the catalogue: ``{"items": [...], "page": ..., ...}``."""
        params: dict[str, Any] = {"page": page}
        if query:
            params["q"] = query
        return self._json("GET", "/plugins", params=params)

    def plugin(self, name: str) -> dict[str, Any]:
        """A plugin with all its versions (``versions``), newest first as given."""
        return self._json("GET", f"/plugins/{quote(name, safe='')}")

    # -- evaluations -------------------------------------------------------------

    def send_evaluation(self, evaluation: Mapping[str, Any]) -> dict[str, Any]:
        """Send an evaluation (*evaluasi*); the answer is ``{id, status, url}``."""
        return self._json("POST", "/evaluations", json=dict(evaluation))

    def evaluations(self, page: int = 1) -> dict[str, Any]:
        """One page of the region's own evaluations, each with its replies."""
        return self._json("GET", "/evaluations", params={"page": page})

    def all_evaluations(self, max_pages: int = 50) -> Iterator[dict[str, Any]]:
        """Every evaluation of the region, page after page (at most ``max_pages``)."""
        for page in range(1, max_pages + 1):
            answer = self.evaluations(page)
            yield from answer.get("items") or []
            if not _has_next(answer, page):
                return

    def evaluation(self, evaluation_id: int) -> dict[str, Any]:
        """One of the region's evaluations with its replies."""
        return self._json("GET", f"/evaluations/{int(evaluation_id)}")

    def reply(self, evaluation_id: int, body: str) -> dict[str, Any]:
        """Add the region's reply to one of its evaluations."""
        return self._json("POST", f"/evaluations/{int(evaluation_id)}/replies", json={"body": body})

    def send_evaluation_with_derived(
        self, evaluation: Mapping[str, Any], filename: str, content: bytes
    ) -> dict[str, Any]:
        """Send an evaluation with a derived plugin (a wheel or an sdist, ``content``
        named ``filename``) in one multipart request; the answer is ``{id, status, url,
        derived}``. The upstream keeps both or neither; the token needs the scopes
        ``feedback`` and ``upload``. Writing the file may take longer than the usual
        timeout allows, so this call has its own (two minutes)."""
        import httpx

        form = {k: str(v) for k, v in evaluation.items() if v is not None}
        form["sha256_digest"] = hashlib.sha256(content).hexdigest()
        return self._json(
            "POST",
            "/evaluations/derived",
            data=form,
            files={"derived": (filename, content, "application/octet-stream")},
            timeout=httpx.Timeout(120.0, connect=5.0),
        )

    # -- usage reports -----------------------------------------------------------

    def report(self, report: Mapping[str, Any]) -> None:
        """Send the opt-in usage report of one region of this installation."""
        self._json("POST", "/reports", json=dict(report))

    # -- files -------------------------------------------------------------------

    def index_page(self, project: str) -> tuple[str, dict[str, Any]]:
        """The registry's simple index page of ``project`` (normalised), as JSON
        (PEP 691): its address, against which its file addresses resolve, and the answer."""
        page = f"{self.base_url}/registry/simple/{quote(project, safe='')}/"
        return page, self._json("GET", page, headers={"Accept": SIMPLE_JSON})

    def download(self, url: str, target: Path, *, limit: int = MAX_DOWNLOAD) -> str:
        """Save the file at ``url`` (an http(s) address, as the registry lists it) to
        ``target`` and return its SHA-256 (hex); at most ``limit`` bytes are taken.

        :raises UpstreamError: the file cannot be fetched, or is larger than ``limit``.
        """
        try:
            address = check_url(url)
        except ValueError:
            raise UpstreamError(_l("%(url)s is not an http(s) address.", url=url)) from None
        import httpx

        digest = hashlib.sha256()
        size = 0
        try:
            with self._http.stream("GET", address) as response, target.open("wb") as out:
                _raise_for(response, self.base_url)
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise UpstreamError(
                            _l(
                                "%(url)s is larger than %(mb)d MB: not downloaded.",
                                url=address,
                                mb=limit // 2**20,
                            )
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except httpx.TimeoutException as exc:
            raise UpstreamUnreachable(_unreachable(self.base_url, "timeout")) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(_unreachable(self.base_url, type(exc).__name__)) from exc
        return digest.hexdigest()

    # -- plumbing ----------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise UpstreamUnreachable(_unreachable(self.base_url, "timeout")) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(_unreachable(self.base_url, type(exc).__name__)) from exc
        _raise_for(response, self.base_url)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError as exc:
            raise UpstreamError(
                _not_a_registry(self.base_url), status=response.status_code
            ) from exc
        if not isinstance(answer, dict):
            raise UpstreamError(_not_a_registry(self.base_url), status=response.status_code)
        return answer


def _has_next(answer: Mapping[str, Any], page: int) -> bool:
    """Whether a list answer has a page after ``page`` (the core's list shape)."""
    pages = answer.get("pages")
    if isinstance(pages, int):
        return page < pages
    return bool(answer.get("next"))


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``{"error": {...}}`` body of a Balai API error, or nothing."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _raise_for(response: httpx.Response, base_url: str) -> None:
    status = response.status_code
    if status < 300:
        return
    error = _error_of(response)
    if status in {401, 403}:
        raise UpstreamRefused(
            _l(
                "The upstream registry at %(url)s refused the region's registry token "
                "(missing, wrong, revoked or without the needed scope). Ask the registry's "
                "maintainer for a token and save it under Upstream registry.",
                url=base_url,
            ),
            status=status,
        )
    if status == 404:
        raise UpstreamNotFound(
            _l("The upstream registry at %(url)s has no such entry.", url=base_url), status=status
        )
    if status in {400, 409, 413, 422}:
        # Only the names of the fields it refused: nothing the upstream wrote is shown.
        fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
        refused = _l("The upstream registry refused this value.")
        raise UpstreamInvalid(
            _l(
                "The upstream registry refused what was sent (HTTP %(status)d); check the "
                "marked fields.",
                status=status,
            ),
            {name: [refused] for name in fields if name in SENT_FIELDS},
            status=status,
        )
    raise UpstreamError(
        _l(
            "The upstream registry at %(url)s answered with an error (HTTP %(status)d); "
            "try again later.",
            url=base_url,
            status=status,
        ),
        status=status,
    )


def _unreachable(url: str, reason: str) -> Any:
    return _l(
        "The upstream registry at %(url)s cannot be reached (%(reason)s). Check the "
        "address, or try again later.",
        url=url,
        reason=reason,
    )


def _not_a_registry(url: str) -> Any:
    return _l("%(url)s did not answer as a Balai registry: check the address.", url=url)
