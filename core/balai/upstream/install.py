"""Installing plugins from a registry: which version fits this core, and pip.

The registry says which core versions each release supports (``requires_core``, a
PEP 440 specifier such as ``">=0.1,<0.3"``); a release outside that range is refused
before pip runs. pip installs ``balai-<name>`` (a name given whole, ``balai-<name>``,
is taken as it is) from the registry's simple index into
the environment that runs Balai (``sys.executable -m pip``), then ``balai db upgrade``
runs in a fresh process, so the new plugin's migrations are found and applied.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from balai import __version__

__all__ = [
    "Incompatible",
    "Release",
    "choose_release",
    "distribution_of",
    "fits_core",
    "installed_version",
    "migrate",
    "pip_install",
    "releases_of",
    "upgrade_note",
]


class Incompatible(Exception):
    """No release can be installed here; the message says why."""


@dataclass(frozen=True)
class Release:
    """One published version of a plugin, as the registry describes it."""

    version: Version
    requires_core: str
    yanked: bool


def distribution_of(name: str) -> str:
    """The distribution that carries plugin ``name``, normalised (PEP 503), the name the
    registry knows it by: ``pengaduan`` and ``balai-pengaduan`` are ``balai-pengaduan``."""
    normalised = canonicalize_name(name)
    return normalised if normalised.startswith("balai-") else f"balai-{normalised}"


def installed_version(name: str) -> str | None:
    """The installed version of plugin ``name``'s distribution, if it is installed."""
    try:
        return distribution_version(distribution_of(name))
    except PackageNotFoundError:
        return None


def fits_core(requires_core: str, core: str = __version__) -> bool:
    """Whether ``core`` is inside ``requires_core`` (empty: any core)."""
    if not requires_core.strip():
        return True
    try:
        return SpecifierSet(requires_core).contains(core, prereleases=True)
    except InvalidSpecifier:
        return False


def releases_of(plugin: Mapping[str, Any]) -> list[Release]:
    """The releases of the registry's answer for one plugin, newest first; versions
    that are not PEP 440 are left out."""
    found = []
    for entry in plugin.get("versions") or []:
        try:
            number = Version(str(entry.get("version")))
        except InvalidVersion:
            continue
        found.append(
            Release(number, str(entry.get("requires_core") or ""), bool(entry.get("yanked")))
        )
    return sorted(found, key=lambda r: r.version, reverse=True)


def _needs(name: str, release: Release, core: str) -> str:
    return (
        f"{name} {release.version} requires Balai core {release.requires_core!r}, "
        f"but the installed core is {core}"
    )


def _refusal(name: str, release: Release, core: str) -> str:
    """Why the chosen ``release`` cannot be installed, and what to do instead."""
    return (
        f"{_needs(name, release, core)}: install a version that fits this core "
        f"('balai plugins info {name}' lists which do), or upgrade the core first"
    )


def _none_fits(name: str, newest: Release, core: str) -> str:
    """Why no release can be installed, and what to do."""
    return (
        f"{_needs(name, newest, core)}, and no version of {name} fits core {core}: "
        f"upgrade the core to a version inside that range first, or ask the plugin's "
        f"authors for a release that supports core {core}"
    )


def upgrade_note(name: str, newest: Release, core: str = __version__) -> str:
    """Why an installed plugin stays below its ``newest`` release, and what to do."""
    return f"{_needs(name, newest, core)}: upgrade the core first to use {newest.version}"


def choose_release(
    name: str,
    plugin: Mapping[str, Any],
    *,
    wanted: str | None = None,
    newer_than: str | None = None,
    core: str = __version__,
) -> Release | None:
    """The release to install: ``wanted`` if it fits this core, else the newest
    compatible release that is not yanked (and newer than ``newer_than``, if given;
    ``None`` when there is none newer).

    :raises Incompatible: ``wanted`` does not exist or does not fit, or no release fits.
    """
    releases = releases_of(plugin)
    if wanted is not None:
        chosen = next((r for r in releases if r.version == Version(wanted)), None)
        if chosen is None:
            raise Incompatible(f"{name} has no version {wanted} on the registry")
        if not fits_core(chosen.requires_core, core):
            raise Incompatible(_refusal(name, chosen, core))
        return chosen
    current = Version(newer_than) if newer_than else None
    offered = [r for r in releases if not r.yanked]
    if not offered:
        raise Incompatible(f"{name} has no published version on the registry")
    for release in offered:
        if current is not None and release.version <= current:
            return None
        if fits_core(release.requires_core, core):
            return release
    if current is not None:
        return None
    raise Incompatible(_none_fits(name, offered[0], core))


def pip_install(
    registry: str,
    name: str,
    version: Version,
    *,
    extra_index_urls: Sequence[str] = (),
    python: str | None = None,
) -> int:
    """Install ``balai-<name>==<version>`` from ``registry``'s simple index with the
    pip of ``python`` (default: the running one); pip's exit status."""
    command = [
        python or sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--index-url",
        f"{registry.rstrip('/')}/registry/simple/",
    ]
    for url in extra_index_urls:
        command += ["--extra-index-url", url]
    command.append(f"{distribution_of(name)}=={version}")
    return subprocess.run(command, check=False).returncode  # noqa: S603 - no shell


def migrate(instance_path: str, *, python: str | None = None) -> int:
    """``balai db upgrade`` for the instance, in a new process that sees the plugins
    just installed; its exit status."""
    env = {**os.environ, "BALAI_INSTANCE_PATH": instance_path}
    command = [python or sys.executable, "-m", "balai", "db", "upgrade"]
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 - no shell
