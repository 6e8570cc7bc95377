"""The adopting region's side of a Balai registry (*registri hulu*).

A region admin links the region to an upstream registry (its address, by default
the deployment's ``REGISTRY_URL``, and the region's registry token) and sends
evaluations of the plugins the region runs (:mod:`balai.upstream.views`); the
operator searches, installs and upgrades plugins from it and sends the opt-in usage
report with the ``balai`` command (:mod:`balai.upstream.cli`). Everything goes
through :class:`RegistryClient`, the registry's JSON API under ``/api/v1/registry``.
"""

from __future__ import annotations

from balai.upstream.client import (
    RegistryClient,
    UpstreamError,
    UpstreamForbidden,
    UpstreamInvalid,
    UpstreamNotFound,
    UpstreamRefused,
    UpstreamUnreachable,
)
from balai.upstream.models import UpstreamEvaluation, UpstreamLink

__all__ = [
    "RegistryClient",
    "UpstreamError",
    "UpstreamEvaluation",
    "UpstreamForbidden",
    "UpstreamInvalid",
    "UpstreamLink",
    "UpstreamNotFound",
    "UpstreamRefused",
    "UpstreamUnreachable",
]
