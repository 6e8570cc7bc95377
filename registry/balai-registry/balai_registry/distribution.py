"""What a distribution file says about itself: its filename and its core metadata.

No Flask here. A wheel's ``*.dist-info/METADATA`` and an sdist's ``PKG-INFO`` are
read without unpacking anything else; the entry points tell a plugin from a theme.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from email.policy import compat32

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from balai.i18n import N_
from balai.plugincheck import direct_url_requirements, file_refusal

__all__ = [
    "CORE",
    "FILETYPES",
    "SCRIPT_GROUPS",
    "DistributionError",
    "FileName",
    "Metadata",
    "check_files",
    "parse_filename",
    "parse_metadata",
    "read_metadata",
    "refuse_scripts",
    "scripts_of",
]

#: The legacy API's ``filetype`` of each kind of file.
FILETYPES = {"bdist_wheel": ".whl", "sdist": ".tar.gz"}
#: The core's distribution: its ``Requires-Dist`` gives a plugin's core range.
CORE = "balai"
METADATA_MAX = 2 * 1024 * 1024
#: The members of an archive read (a wheel may have no more), and the bytes of an
#: sdist passed over, looking for its metadata.
MAX_MEMBERS = 10_000
MAX_SCANNED = 256 * 1024 * 1024
#: What reading a damaged archive raises: zipfile gives RuntimeError for an encrypted
#: member and NotImplementedError for an unknown compression method.
UNREADABLE = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    OSError,
    UnicodeDecodeError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
)
#: Entry point groups from which pip writes commands into the environment's ``bin/``.
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
NO_PKG_INFO = N_("The sdist has no single PKG-INFO file at its top.")
TOO_MANY = N_("The archive has more than %(count)s files.")


class DistributionError(ValueError):
    """A file that is not a readable distribution; the message is a message id, with
    ``params`` to fill it in."""

    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


@dataclass(frozen=True)
class FileName:
    """What a distribution's filename says: its project (normalised) and version."""

    project: str
    version: Version
    filetype: str


@dataclass(frozen=True)
class Metadata:
    """The core metadata fields the registry shows, and the whole text (PEP 658)."""

    name: str
    version: str
    summary: str
    licence: str
    requires_python: str
    requires_core: str
    description: str
    description_content_type: str
    kind: str
    text: str
    #: The commands its entry points would install, ``"<group>: <name>"`` each.
    scripts: tuple[str, ...] = ()

    @property
    def project(self) -> str:
        return canonicalize_name(self.name)


def parse_filename(filename: str) -> FileName:
    """The project and version of a wheel or sdist filename.

    :raises DistributionError: neither a valid wheel nor a ``.tar.gz`` sdist name.
    """
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            return FileName(name, version, "bdist_wheel")
        if filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            return FileName(name, version, "sdist")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    raise DistributionError(N_("The file name is not that of a wheel or a .tar.gz sdist."))


def read_metadata(filename: str, data: bytes) -> Metadata:
    """The core metadata inside the file ``data`` called ``filename``.

    :raises DistributionError: the archive or its metadata cannot be read, or a
        ``Requires-Dist`` names a direct URL (``name @ url``, naming it).
    """
    kind = parse_filename(filename).filetype
    try:
        if kind == "bdist_wheel":
            text, entry_points = _from_wheel(data)
        else:
            text, entry_points = _from_sdist(data)
    except UNREADABLE as exc:
        raise DistributionError(N_("The file is not a readable archive.")) from exc
    metadata = parse_metadata(text, entry_points)
    requirements = Parser(policy=compat32).parsestr(text).get_all("Requires-Dist") or []
    for requirement in direct_url_requirements(str(r) for r in requirements):
        raise DistributionError(
            N_(
                "The requirement %(requirement)s names a direct URL: require"
                " distributions by name only."
            ),
            requirement=requirement,
        )
    return metadata


def check_files(filename: str, data: bytes) -> None:
    """Refuse a wheel with a ``.pth`` file, a file in a ``.data/`` folder other than
    ``purelib``/``platlib`` (``data``, ``scripts``, ``headers``: pip installs them
    anywhere under the prefix), or a file outside its package (``balai_<name>/`` from
    the file's name), its own ``.dist-info/`` and the package inside its
    ``.data/purelib`` or ``platlib``: the core's check applies the same rule
    (:func:`balai.plugincheck.file_refusal`).

    :raises DistributionError: naming the first such file.
    """
    parsed = parse_filename(filename)
    if parsed.filetype != "bdist_wheel":
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = _names(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DistributionError(N_("The file is not a readable archive.")) from exc
    _refuse_outside(names, parsed.project.replace("-", "_"))


def _from_wheel(data: bytes) -> tuple[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = _names(archive)
        found = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(found) != 1:
            raise DistributionError(N_("The wheel has no single .dist-info/METADATA file."))
        folder = found[0].rsplit("/", 1)[0]
        text = _read_zip(archive, found[0])
        points = f"{folder}/entry_points.txt"
        return text, _read_zip(archive, points) if points in names else ""


def _names(archive: zipfile.ZipFile) -> list[str]:
    if len(archive.filelist) > MAX_MEMBERS:
        raise DistributionError(TOO_MANY, count=str(MAX_MEMBERS))
    return archive.namelist()


def _refuse_outside(names: list[str], package: str) -> None:
    for name in names:
        refusal = file_refusal(name, package)
        if refusal == "pth":
            raise DistributionError(N_("The wheel ships a .pth file: %(file)s."), file=name)
        if refusal == "data":
            raise DistributionError(
                N_(
                    "The wheel has a file in a .data folder other than purelib or platlib,"
                    " which pip installs outside the environment's packages: %(file)s."
                ),
                file=name,
            )
        if refusal is not None:
            raise DistributionError(
                N_("The wheel has a file outside its package %(package)s/: %(file)s."),
                package=package,
                file=name,
            )


def _read_zip(archive: zipfile.ZipFile, name: str) -> str:
    if archive.getinfo(name).file_size > METADATA_MAX:
        raise DistributionError(N_("The package's metadata is too large."))
    return archive.read(name).decode()


def _from_sdist(data: bytes) -> tuple[str, str]:
    """PKG-INFO and the entry points, reading the members one by one (never the whole
    list): it stops once both are found, or after :data:`MAX_MEMBERS` members or
    :data:`MAX_SCANNED` bytes."""
    text: str | None = None
    points: tuple[str, str] | None = None
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
        for count, member in enumerate(archive, 1):
            if count > MAX_MEMBERS or member.offset_data + member.size > MAX_SCANNED:
                break
            name = member.name
            if not member.isfile():
                continue
            if name.count("/") == 1 and name.endswith("/PKG-INFO"):
                if text is not None:
                    raise DistributionError(NO_PKG_INFO)
                text = _read_tar(archive, member)
            elif name.endswith(".egg-info/entry_points.txt") and (
                points is None or name < points[0]
            ):
                points = (name, _read_tar(archive, member))
            if text is not None and points is not None:
                break
    if text is None:
        raise DistributionError(NO_PKG_INFO)
    return text, points[1] if points else ""


def _read_tar(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    if member.size > METADATA_MAX:
        raise DistributionError(N_("The package's metadata is too large."))
    extracted = archive.extractfile(member)
    if extracted is None:
        raise DistributionError(N_("The file is not a readable archive."))
    return extracted.read().decode()


def parse_metadata(text: str, entry_points: str = "") -> Metadata:
    """The fields of a core metadata text (``METADATA``, ``PKG-INFO``).

    :raises DistributionError: it names no project or no version.
    """
    message = Parser(policy=compat32).parsestr(text)
    name, version = _header(message, "Name"), _header(message, "Version")
    if not name or not version:
        raise DistributionError(N_("The package's metadata has no Name or Version."))
    description = message.get_payload() if not message.is_multipart() else ""
    return Metadata(
        name=name,
        version=version,
        summary=_header(message, "Summary")[:512],
        licence=(_header(message, "License-Expression") or _header(message, "License"))[:200],
        requires_python=_header(message, "Requires-Python")[:100],
        requires_core=_core_range(message.get_all("Requires-Dist") or [])[:100],
        description=str(description or _header(message, "Description")),
        description_content_type=_header(message, "Description-Content-Type"),
        kind="theme" if "[balai.themes]" in entry_points else "plugin",
        text=text,
        scripts=tuple(scripts_of(entry_points)),
    )


def scripts_of(entry_points: str) -> list[str]:
    """The ``console_scripts`` and ``gui_scripts`` entry points of an
    ``entry_points.txt``, as ``"<group>: <name>"``."""
    group, found = "", []
    for raw in entry_points.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip().lower()
        elif group in SCRIPT_GROUPS:
            found.append(f"{group}: {line.partition('=')[0].strip()}")
    return found


def refuse_scripts(metadata: Metadata) -> None:
    """Refuse a distribution whose entry points would install a command.

    :raises DistributionError: naming the first such entry point.
    """
    if metadata.scripts:
        raise DistributionError(
            N_(
                "The distribution would install the command %(entry_point)s "
                "(console_scripts or gui_scripts entry point): a plugin may not install "
                "commands."
            ),
            entry_point=metadata.scripts[0],
        )


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _core_range(requirements: list[str]) -> str:
    for line in requirements:
        try:
            requirement = Requirement(str(line))
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == CORE and requirement.marker is None:
            return str(requirement.specifier)
    return ""
