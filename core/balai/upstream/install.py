"""Installing plugins from a registry: which version fits this core, which file, and pip.

The registry says which core versions each release supports (``requires_core``, a
PEP 440 specifier such as ``">=0.1,<0.3"``); a release outside that range is refused
before anything is downloaded. The plugin ``balai-<name>`` (a name given whole,
``balai-<name>``, is taken as it is) is then installed from exactly the file the
registry lists for that release, never from whatever an index offers under its name:

1. The registry's own simple index, in its JSON form (PEP 691,
   ``<registry>/registry/simple/<name>/``), lists the plugin's files with their address
   and SHA-256 (:func:`index_files`). :func:`choose_file` takes the wheel that installs
   here whose file name carries the plugin's own name and the chosen version. Only a
   wheel: installing an sdist runs its build code, outside any check, on this server; a
   release with no wheel is refused.
2. The file is downloaded from that address into a temporary folder and its SHA-256
   compared with the registry's (:func:`fetch_file`); another file is refused
   (:class:`Tampered`) and nothing is installed. A wheel whose metadata names a
   requirement by address (``name @ https://…``, pulling code from anywhere) is refused
   too (:func:`direct_references`).
3. pip installs the file as a direct reference,
   ``balai-<name> @ file:///…/<file>#sha256=<hash>``: pip checks the name and the hash
   again and asks no index for the plugin itself, so an index named in ``--extra-index-url``,
   ``PIP_EXTRA_INDEX_URL``, ``PIP_INDEX_URL``, ``PIP_FIND_LINKS`` or a ``pip.conf`` (a
   look-alike ``balai-<name>`` of the same or a higher version: dependency confusion)
   cannot substitute another file.

The plugin's own dependencies are still resolved by pip, from the registry's simple
index (``--index-url``, which overrides ``PIP_INDEX_URL``) and any extra index the
operator names, as wheels only (``--only-binary :all:``: no dependency's build code
runs either): requiring hashes for them too (``--require-hashes``) would need every
dependency pinned by the plugin's author, which wheels do not carry. A dependency
already installed (the core, ``balai``) is kept as it is.

pip runs in the environment that runs Balai (``sys.executable -m pip``), then
``balai db upgrade`` runs in a fresh process, so the new plugin's migrations are found
and applied.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.parser import Parser
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from balai import __version__
from balai.upstream.client import RegistryClient

__all__ = [
    "Incompatible",
    "Release",
    "ReleaseFile",
    "Tampered",
    "choose_file",
    "choose_release",
    "direct_references",
    "distribution_of",
    "fetch_file",
    "fits_core",
    "index_files",
    "installed_version",
    "migrate",
    "pip_install",
    "releases_of",
    "upgrade_note",
]


class Incompatible(Exception):
    """No release can be installed here; the message says why."""


class Tampered(Exception):
    """The file downloaded is not the one the registry lists; nothing was installed."""


_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release: its name, where the registry serves it, its SHA-256."""

    filename: str
    url: str
    sha256: str


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


def _needs(name: str, release: Release, core: str) -> LazyString:
    return _l(
        "%(name)s %(version)s requires Balai core %(range)s, but the installed core is %(core)s",
        name=name,
        version=str(release.version),
        range=repr(release.requires_core),
        core=core,
    )


def _refusal(name: str, release: Release, core: str) -> LazyString:
    """Why the chosen ``release`` cannot be installed, and what to do instead."""
    return _l(
        "%(needs)s: install a version that fits this core ('balai plugins info %(name)s' "
        "lists which do), or upgrade the core first",
        needs=_needs(name, release, core),
        name=name,
    )


def _none_fits(name: str, newest: Release, core: str) -> LazyString:
    """Why no release can be installed, and what to do."""
    return _l(
        "%(needs)s, and no version of %(name)s fits core %(core)s: upgrade the core to a "
        "version inside that range first, or ask the plugin's authors for a release that "
        "supports core %(core)s",
        needs=_needs(name, newest, core),
        name=name,
        core=core,
    )


def upgrade_note(name: str, newest: Release, core: str = __version__) -> str:
    """Why an installed plugin stays below its ``newest`` release, and what to do."""
    return str(
        _l(
            "%(needs)s: upgrade the core first to use %(version)s",
            needs=_needs(name, newest, core),
            version=str(newest.version),
        )
    )


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
            raise Incompatible(
                _l("%(name)s has no version %(version)s on the registry", name=name, version=wanted)
            )
        if not fits_core(chosen.requires_core, core):
            raise Incompatible(_refusal(name, chosen, core))
        return chosen
    current = Version(newer_than) if newer_than else None
    offered = [r for r in releases if not r.yanked]
    if not offered:
        raise Incompatible(_l("%(name)s has no published version on the registry", name=name))
    for release in offered:
        if current is not None and release.version <= current:
            return None
        if fits_core(release.requires_core, core):
            return release
    if current is not None:
        return None
    raise Incompatible(_none_fits(name, offered[0], core))


def index_files(answer: Mapping[str, Any], page: str) -> list[ReleaseFile]:
    """The files of the registry's JSON simple index page (PEP 691) at ``page``, their
    addresses resolved against it; an entry without a plain file name, an address or a
    SHA-256 (64 hex digits) is left out."""
    found = []
    for item in answer.get("files") or []:
        if not isinstance(item, Mapping):
            continue
        filename, url = item.get("filename"), item.get("url")
        hashes = item.get("hashes")
        digest = str(hashes.get("sha256") or "").lower() if isinstance(hashes, Mapping) else ""
        if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
            continue
        if isinstance(url, str) and url and _SHA256.fullmatch(digest):
            found.append(ReleaseFile(filename, urljoin(page, url), digest))
    return found


def choose_file(name: str, release: Release, files: Sequence[ReleaseFile]) -> ReleaseFile:
    """The wheel of ``release`` among the index's ``files`` to install here: one whose
    tags this Python supports and whose file name carries the plugin's distribution
    name and the release's version. Never an sdist: installing one runs its build code.

    :raises Incompatible: the registry lists no such wheel (saying so when it lists only
        an sdist).
    """
    wanted = distribution_of(name)
    supported = set(sys_tags())
    wheels, sdists = [], []
    for file in files:
        try:
            if file.filename.endswith(".whl"):
                found, version, _build, tags = parse_wheel_filename(file.filename)
                if found == wanted and version == release.version and tags & supported:
                    wheels.append(file)
            elif file.filename.endswith(".tar.gz"):
                found, version = parse_sdist_filename(file.filename)
                if found == wanted and version == release.version:
                    sdists.append(file)
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
    if wheels:
        return wheels[0]
    if sdists:
        raise Incompatible(
            _l(
                "the registry has only a source distribution of %(name)s %(version)s "
                "(%(file)s); Balai installs plugins only from wheels, because installing an "
                "sdist runs its build code on this server: ask its authors to upload the wheel",
                name=wanted,
                version=str(release.version),
                file=sdists[0].filename,
            )
        )
    raise Incompatible(
        _l(
            "the registry lists no file of %(name)s %(version)s that installs here",
            name=wanted,
            version=str(release.version),
        )
    )


def direct_references(wheel: Path) -> list[str]:
    """The requirements in ``wheel``'s metadata that name an address (``x @ https://…``)
    instead of a version: pip would fetch them from there, past every index."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1]
        metadata = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            return []
        text = archive.read(metadata).decode("utf-8", "replace")
    found = []
    for line in Parser().parsestr(text).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.url:
            found.append(line.strip())
    return found


def fetch_file(client: RegistryClient, file: ReleaseFile, folder: Path) -> Path:
    """Download ``file`` from the address the registry gave into ``folder``; its path.

    :raises Tampered: what was downloaded is not the file the registry lists (another
        SHA-256), is not a readable wheel, or requires something by address
        (:func:`direct_references`); it is deleted.
    :raises balai.upstream.client.UpstreamError: it could not be downloaded.
    """
    target = folder / file.filename
    digest = client.download(file.url, target)
    if digest != file.sha256:
        target.unlink()
        raise Tampered(
            _l(
                "%(file)s from %(url)s is not the file the registry lists (SHA-256 "
                "%(digest)s, the registry lists %(listed)s): nothing was installed",
                file=file.filename,
                url=file.url,
                digest=digest,
                listed=file.sha256,
            )
        )
    try:
        addressed = direct_references(target)
    except (zipfile.BadZipFile, OSError) as exc:
        target.unlink()
        raise Tampered(
            _l(
                "%(file)s is not a readable wheel (%(error)s): nothing was installed",
                file=file.filename,
                error=str(exc),
            )
        ) from exc
    if addressed:
        target.unlink()
        raise Tampered(
            _l(
                "%(file)s requires %(requirement)s: a requirement by address would be "
                "fetched from there, past the registry; nothing was installed",
                file=file.filename,
                requirement=addressed[0],
            )
        )
    return target


def pip_install(
    registry: str,
    name: str,
    path: Path,
    sha256: str,
    *,
    extra_index_urls: Sequence[str] = (),
    python: str | None = None,
) -> int:
    """Install the plugin's file at ``path`` (checked to have ``sha256``) with the pip of
    ``python`` (default: the running one), as a direct reference that no index can
    replace; its dependencies come from ``registry``'s simple index and
    ``extra_index_urls``. pip's exit status."""
    command = [
        python or sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--only-binary",
        ":all:",
        "--index-url",
        f"{registry.rstrip('/')}/registry/simple/",
    ]
    for url in extra_index_urls:
        command += ["--extra-index-url", url]
    command.append(f"{distribution_of(name)} @ {path.resolve().as_uri()}#sha256={sha256}")
    return subprocess.run(command, check=False).returncode  # noqa: S603 - no shell


def migrate(instance_path: str, *, python: str | None = None) -> subprocess.CompletedProcess[str]:
    """``balai db upgrade`` for the instance, in a new process that sees the plugins
    just installed. Its errors go to this process's stderr as they come; its output
    (``database is up to date``, in English) is kept for the caller to say in the
    deployment's language, or show when it failed."""
    env = {**os.environ, "BALAI_INSTANCE_PATH": instance_path}
    command = [python or sys.executable, "-m", "balai", "db", "upgrade"]
    return subprocess.run(  # noqa: S603 - no shell
        command, env=env, check=False, stdout=subprocess.PIPE, text=True
    )
