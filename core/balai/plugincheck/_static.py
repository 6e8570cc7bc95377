"""The static checks: ``python -I -m balai.plugincheck._static SITE FILE --results-fd N``.

Run with the checking environment's own Python (never the throw-away environment's),
in isolated mode (``-I``: no ``PYTHON*`` variables, no current folder on the path) and
with the scratch folder read-only, after the distribution was installed and before any
of its code is imported. Nothing here imports or executes the distribution: the
``metadata``, ``bandit`` and ``catalogue`` checks read the wheel's member names, the
installed ``.dist-info`` (metadata, entry points, ``RECORD``), the installed source
files (bandit parses them) and the ``.po`` catalogues. Their results are authoritative;
the dynamic checks (:mod:`balai.plugincheck._child`) run the plugin's code and are not.

What an sdist installs is what its build code made of it, and that code ran (in the
sandbox) before these checks: so for an sdist bandit also reads every Python file of
the archive itself (build scripts included), unpacked here into a private folder, and
the metadata check compares the archive's ``PKG-INFO`` with what was installed.

The results go to the caller as JSON lines on the pipe ``--results-fd``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from email.parser import Parser
from pathlib import Path, PurePosixPath
from typing import Any

import importlib_metadata
from packaging.utils import canonicalize_version

from balai.plugincheck._files import direct_url_requirements, file_refusal
from balai.plugincheck._inspect import distribution_facts
from balai.plugincheck._report import N_, CheckResult, Message

PLUGIN_GROUP = "balai.plugins"
THEME_GROUP = "balai.themes"
#: Entry point groups from which pip writes commands into the environment's ``bin/``.
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
#: What a check function gives back: its status, a one-line summary and extra output.
Outcome = tuple[str, str, str]


def problems_outcome(problems: list[str], passed: str) -> Outcome:
    """Failed with the first problem as the summary (all of them in the output), or passed."""
    if not problems:
        return "passed", passed, ""
    first = problems[0][:300]
    if len(problems) > 1:
        summary = Message(
            N_("%(problem)s (and %(more)d more)"), problem=first, more=len(problems) - 1
        )
    else:
        summary = Message(N_("%(problem)s"), problem=first)
    return "failed", summary, "\n".join(problems)


# -- the distribution ---------------------------------------------------------------------


def installed_distribution(site: Path) -> importlib_metadata.Distribution:
    """The one distribution installed into the throw-away environment's ``site``."""
    found = list(importlib_metadata.distributions(path=[str(site)]))
    if len(found) != 1:
        names = ", ".join(d.metadata.get("Name") or "?" for d in found) or "none"
        raise RuntimeError(f"expected one distribution in {site}, found: {names}")
    return found[0]


def metadata_check(
    dist: importlib_metadata.Distribution,
    inspection: dict[str, Any],
    archive_names: list[str] | None = None,
    pkg_info: str | None = None,
) -> Outcome:
    """Entry point, name, dependency on the core, README, the files it installs (and
    those of the wheel, ``archive_names``), and for an sdist whether its ``PKG-INFO``
    names what was installed; fills ``inspection`` from it."""
    name = dist.metadata.get("Name") or ""
    points = [ep for ep in dist.entry_points if ep.group in (PLUGIN_GROUP, THEME_GROUP)]
    problems = []
    if pkg_info is not None:
        problems += _pkg_info_problems(pkg_info, name, dist.version)
    if len(points) != 1:
        listed = ", ".join(f"{ep.group}: {ep.name}" for ep in points) or "none"
        problems.append(
            f"one entry point in {PLUGIN_GROUP} or {THEME_GROUP} expected, found {listed}"
        )
    else:
        point = points[0]
        expected = (
            f"balai-theme-{point.name}" if point.group == THEME_GROUP else f"balai-{point.name}"
        )
        if _normalise(name) != _normalise(expected):
            problems.append(
                f"distribution is {name!r}; entry point {point.name!r} needs {expected!r}"
            )
    for script in (ep for ep in dist.entry_points if ep.group in SCRIPT_GROUPS):
        problems.append(
            f"{script.group} entry point {script.name!r} ({script.value}): "
            "a plugin may not install commands"
        )
    facts = distribution_facts(dist)
    inspection.update(facts)
    if not facts["requires_core"] and "balai" not in facts["requires"]:
        problems.append("it does not depend on balai (Requires-Dist: balai>=...)")
    if not facts["readme"].strip():
        problems.append("no README (long description)")
    problems += [
        f"Requires-Dist: {requirement}: a direct URL requirement installs code from"
        " that address on every host, unchecked; require a distribution by name"
        for requirement in direct_url_requirements(dist.requires or ())
    ]
    installed = sorted(str(f) for f in dist.files or ())
    package = _normalise(name).replace("-", "_")
    problems += file_problems([*(archive_names or []), *installed], package)
    status, summary, output = problems_outcome(problems, f"{name} {dist.version}")
    listing = "\n".join(f"  {f}" for f in installed) or "  (none listed)"
    return status, summary, f"{output}\nfiles it installs:\n{listing}".lstrip()


def file_problems(names: list[str], package: str) -> list[str]:
    """The files a wheel may not carry, nor a distribution install
    (:func:`balai.plugincheck.file_refusal`): a ``.pth`` file, a file in a ``.data/``
    folder other than ``purelib``/``platlib``, and any other file outside ``package/``
    and its own ``.dist-info/``: pip would install them beside the core's own packages
    or elsewhere under the environment's prefix."""
    problems = []
    for name in dict.fromkeys(names):
        refusal = file_refusal(name, package)
        if refusal == "pth":
            problems.append(f"{name}: a .pth file runs code in every Python process")
        elif refusal == "data":
            problems.append(
                f"{name}: a .data folder other than purelib or platlib"
                " installs outside the environment's packages"
            )
        elif refusal is not None:
            problems.append(f"{name}: a file outside {package}/")
    return problems


def _pkg_info_problems(pkg_info: str, name: str, version: str) -> list[str]:
    fields = Parser().parsestr(pkg_info)
    said = (fields.get("Name") or "", fields.get("Version") or "")
    same_version = canonicalize_version(said[1]) == canonicalize_version(version)
    if _normalise(said[0]) == _normalise(name) and same_version:
        return []
    return [
        f"the sdist's PKG-INFO says {said[0]} {said[1]}, but its build installed {name} {version}"
    ]


#: The most of an sdist's Python files :func:`sdist_sources` unpacks, in bytes and files.
SOURCE_MAX_BYTES = 64 * 1024 * 1024
SOURCE_MAX_FILES = 20_000


def sdist_sources(file: Path, into: Path) -> str | None:
    """Unpack the Python files of the sdist ``file`` (regular files only, each under the
    archive's top folder, within :data:`SOURCE_MAX_BYTES` and :data:`SOURCE_MAX_FILES`)
    into ``into``; returns the text of its top ``PKG-INFO``, if it has one.

    :raises ValueError: the archive holds more than the limits allow.
    """
    pkg_info, total, count = None, 0, 0
    with tarfile.open(file, "r:gz") as archive:
        for member in archive:
            path = PurePosixPath(member.name)
            if not member.isreg() or path.is_absolute() or ".." in path.parts:
                continue
            if len(path.parts) == 2 and path.name == "PKG-INFO" and pkg_info is None:
                read = archive.extractfile(member)
                pkg_info = read.read(1024 * 1024).decode("utf-8", "replace") if read else ""
            if path.suffix != ".py":
                continue
            total, count = total + member.size, count + 1
            if total > SOURCE_MAX_BYTES or count > SOURCE_MAX_FILES:
                raise ValueError("the sdist holds too much Python source to read")
            target = into.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            read = archive.extractfile(member)
            target.write_bytes(read.read() if read else b"")
    return pkg_info


def wheel_names(file: Path) -> list[str]:
    """The members of a wheel file (none for an sdist)."""
    if not file.name.endswith(".whl"):
        return []
    with zipfile.ZipFile(file) as archive:
        return archive.namelist()


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def package_dirs(dist: importlib_metadata.Distribution, site: Path) -> list[Path]:
    """The top-level package folders the distribution installed into ``site``."""
    tops = {Path(str(f)).parts[0] for f in dist.files or () if str(f).endswith(".py")}
    found = []
    for top in sorted(tops):
        folder = site / top
        if top.endswith((".dist-info", ".data")) or top in ("", "..", "/"):
            continue
        if folder.is_dir() and not folder.is_symlink():
            found.append(folder)
    return found


# -- checks of the files -------------------------------------------------------------------


def bandit_check(packages: list[Path], source: Sequence[Path] = ()) -> Outcome:
    """bandit over the installed package (and an sdist's own ``source``): a
    high-severity finding fails, others are listed."""
    if not packages:
        return "failed", Message(N_("no package folder installed for bandit to read")), ""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-m", "bandit", "--quiet", "--recursive", "--format", "json"]
        + [str(p) for p in [*packages, *source]],
        capture_output=True,
        text=True,
        check=False,
    )
    if "No module named bandit" in done.stderr:
        return "skipped", Message(N_("bandit is not installed")), done.stderr
    try:
        results = json.loads(done.stdout)["results"]
    except (ValueError, KeyError):
        return "error", Message(N_("bandit gave no report")), done.stdout + done.stderr
    lines = [_finding(r) for r in results]
    high = [line for line in lines if line.startswith("HIGH")]
    counts = {
        s: sum(1 for r in results if r["issue_severity"] == s) for s in ("HIGH", "MEDIUM", "LOW")
    }
    summary = Message(
        N_("%(high)d high, %(medium)d medium, %(low)d low"),
        high=counts["HIGH"],
        medium=counts["MEDIUM"],
        low=counts["LOW"],
    )
    if high:
        finding = Message(N_("high-severity finding: %(finding)s"), finding=high[0])
        return "failed", finding, "\n".join(lines)
    return "passed", summary, "\n".join(lines)


def _finding(result: dict[str, Any]) -> str:
    where = f"{Path(result['filename']).name}:{result['line_number']}"
    return f"{result['issue_severity']} {result['test_id']} {where} {result['issue_text']}"


def catalogue_check(packages: list[Path], kind: str) -> Outcome:
    from balai.proof import plugin as checks

    if kind == "theme" and not any((p / "translations").is_dir() for p in packages):
        return "skipped", Message(N_("a theme without catalogues of its own")), ""
    problems = [p for package in packages for p in checks.catalogue_problems(package)]
    return problems_outcome(problems, Message(N_("Indonesian catalogue complete")))


def languages(packages: list[Path]) -> dict[str, float]:
    """Per language, the percent of the package's messages its catalogue translates."""
    from balai.proof.plugin import catalogue_completeness

    found: dict[str, float] = {}
    for package in packages:
        for lang, (percent, _missing) in catalogue_completeness(package).items():
            found[lang] = percent
    return found


def run(name: str, check: Any) -> CheckResult:
    """One check, an exception ending it in ``error``."""
    import traceback

    try:
        status, summary, output = check()
    except Exception as exc:
        status, output = "error", traceback.format_exc()
        summary = Message(N_("%(error)s"), error=f"{type(exc).__name__}: {exc}")
    return CheckResult(name, status, summary, output[-50_000:])


# -- all of it ------------------------------------------------------------------------------


def _checks(
    dist: importlib_metadata.Distribution,
    site: Path,
    file: Path,
    unpacked: Path,
    inspection: dict[str, Any],
) -> list[CheckResult]:
    names = wheel_names(file)
    source, pkg_info, unreadable = [], None, None
    if file.name.endswith(".tar.gz"):
        try:
            pkg_info = sdist_sources(file, unpacked) or ""
            source = [unpacked]
        except (OSError, tarfile.TarError, ValueError) as exc:
            unreadable = CheckResult(
                "bandit", "failed", Message(N_("%(error)s"), error=f"the sdist: {exc}")
            )
    results = [run("metadata", lambda: metadata_check(dist, inspection, names, pkg_info))]
    packages = package_dirs(dist, site)
    results.append(unreadable or run("bandit", lambda: bandit_check(packages, source)))
    kind = inspection.get("kind") or ""
    results.append(run("catalogue", lambda: catalogue_check(packages, kind)))
    try:
        inspection["languages"] = languages(packages)
    except Exception:  # a broken catalogue is the catalogue check's to report
        inspection["languages"] = {}
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="balai.plugincheck._static")
    parser.add_argument("site", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--results-fd", type=int, required=True)
    args = parser.parse_args(argv)
    inspection: dict[str, Any] = {}
    results = []
    try:
        dist = installed_distribution(args.site)
    except Exception as exc:
        dist = None
        error = Message(N_("%(error)s"), error=f"{type(exc).__name__}: {exc}")
        results.append(CheckResult("metadata", "error", error))
    # A private folder for an sdist's own source: /tmp is the sandbox's own there.
    with tempfile.TemporaryDirectory(dir="/tmp") as unpacked:  # nosec B108
        if dist is not None:
            results += _checks(dist, args.site, args.file, Path(unpacked), inspection)
    with open(args.results_fd, "w", encoding="utf-8") as channel:
        for result in results:
            # As CheckReport.to_dict writes a check: the summary's message id kept.
            channel.write(json.dumps({"check": asdict(result)}) + "\n")
        channel.write(json.dumps({"inspection": inspection}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
