"""The HTTP client of an upstream registry's JSON API (``/api/v1/registry/...``).

Free of Flask requests and of the database: the admin pages, the background job and
the ``balai`` command all talk to the upstream through :class:`RegistryClient`. Every
call has a timeout; what goes wrong comes back as one :class:`UpstreamError` whose
message (translatable) says what the admin can do about it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from flask_babel import lazy_gettext as _l

from balai import __version__

__all__ = [
    "API_PATH",
    "TIMEOUT",
    "RegistryClient",
    "UpstreamError",
    "UpstreamInvalid",
    "UpstreamNotFound",
    "UpstreamRefused",
    "UpstreamUnreachable",
    "check_url",
]

API_PATH = "/api/v1/registry"
#: Seconds to connect and to wait for each read: an upstream that does not answer
#: within them is reported unreachable rather than holding a web worker.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


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


def check_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an ``http(s)`` address with a host.

    :raises ValueError: it is not one.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ValueError(url)
    return url.rstrip("/")


class RegistryClient:
    """One upstream registry, reached at ``base_url``, as one region (``token``).

    :param base_url: the upstream Balai's address, e.g. ``https://balai.tangerangkota.go.id``.
    :param token: the region's registry token (``balai-reg-...``), sent as a bearer token.
    :param transport: an ``httpx`` transport, for tests that answer in-process.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_url(base_url)
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

    # -- usage reports -----------------------------------------------------------

    def report(self, report: Mapping[str, Any]) -> None:
        """Send the opt-in usage report of one region of this installation."""
        self._json("POST", "/reports", json=dict(report))

    # -- plumbing ----------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
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
    said = str(error.get("message") or "")[:300]
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
        fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
        raise UpstreamInvalid(
            _l("The upstream registry refused what was sent: %(reason)s", reason=said or status),
            fields or {},
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
