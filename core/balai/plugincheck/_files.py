"""What a plugin's distribution may install and require: :func:`file_refusal` and
:func:`direct_url_requirements`, the rules the check's ``metadata`` step and the
registry's upload both apply."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

__all__ = ["DATA_ALLOWED", "direct_url_requirements", "file_refusal"]

#: The ``.data/`` folders of a wheel that may hold files: those pip installs into
#: site-packages, and then only the distribution's own package.
DATA_ALLOWED = ("purelib", "platlib")


def file_refusal(name: str, package: str) -> str | None:
    """Why a wheel of the distribution whose package is ``package`` may not carry the
    member (or installed file) ``name``, or ``None``:

    - ``"pth"``: a ``.pth`` file, which runs code in every Python process;
    - ``"data"``: a file in one of its ``.data/`` folders other than ``purelib`` and
      ``platlib`` (``data``, ``scripts``, ``headers``): pip installs those anywhere
      under the environment's prefix (a ``sitecustomize.py``, a ``bin/balai``);
    - ``"outside"``: any other file outside ``package/``, the distribution's own
      ``.dist-info/``, and ``package/`` inside its ``.data/purelib`` or ``platlib``.

    A folder (a name ending in ``/``) is never refused.
    """
    if name.endswith("/"):
        return None
    if name.lower().endswith(".pth"):
        return "pth"
    parts = PurePosixPath(name).parts
    if not parts or ".." in parts or parts[0] in ("", "/"):
        return "outside"
    top = parts[0]
    own = top.lower().startswith(f"{package.lower()}-")
    if top == package or (own and top.endswith(".dist-info")):
        return None
    if own and top.endswith(".data"):
        if len(parts) > 2 and parts[1] in DATA_ALLOWED and parts[2] == package:
            return None
        if len(parts) > 1 and parts[1] not in DATA_ALLOWED:
            return "data"
    return "outside"


def direct_url_requirements(requirements: Iterable[str]) -> list[str]:
    """The ``Requires-Dist`` lines among ``requirements`` that name a direct URL
    (``name @ https://...``, PEP 508): pip would fetch and run that code on every
    adopting host, and no one checked it. A line that does not parse but holds ``@``
    counts too."""
    found = []
    for line in requirements:
        text = str(line).strip()
        try:
            if Requirement(text).url is None:
                continue
        except InvalidRequirement:
            if "@" not in text:
                continue
        found.append(text)
    return found
