"""Business rules of the registry, without Flask: partners, their tokens, and the
submissions they send through their life (checked, published or rejected, yanked).

Every function takes the session (bound to the upstream region) and, where it
matters, the current time; messages are English message ids marked with
:func:`~balai.i18n.N_`, translated by the caller where it shows them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from balai.contacts import email_address
from balai.i18n import N_
from balai_registry import distribution
from balai_registry.models import SCOPES, Partner, Submission
from balai_registry.names import MAX_NAME, MAX_VERSION, version_of

__all__ = [
    "MAX_UPLOAD",
    "TOKEN_PREFIX",
    "DecisionError",
    "Page",
    "PartnerError",
    "Upload",
    "UploadError",
    "accept_upload",
    "decide",
    "failed_files",
    "file_key",
    "hash_token",
    "issue_partner",
    "list_partners",
    "list_submissions",
    "partner_for_token",
    "partner_of_region",
    "record_check",
    "release_files",
    "release_siblings",
    "revoke_partner",
    "rotate_partner",
    "unchecked_files",
    "unyank",
    "yank",
]

#: Every registry token starts so, which tells it apart from a user's API token.
TOKEN_PREFIX = "balai-reg-"  # noqa: S105  (a prefix, not a secret)


class PartnerError(ValueError):
    """Input the rules refuse; ``errors`` maps each field to its message ids."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def list_partners(session: Session) -> list[Partner]:
    """The region's partners, live ones first, newest first."""
    stmt = select(Partner).order_by(Partner.revoked_at.is_not(None), Partner.id.desc())
    return list(session.scalars(stmt))


def region_key(region: str) -> str:
    """What makes two names one region: ``Kabupaten  lebak`` is ``kabupaten lebak``."""
    return " ".join(region.split()).casefold()


def partner_of_region(session: Session, region: str) -> Partner | None:
    """The partner named ``region`` (spaces and case aside), live or revoked."""
    key = region_key(region)
    if not key:
        return None
    return session.scalar(select(Partner).where(Partner.region_key == key))


def _new_token(partner: Partner) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    partner.token_hash = hash_token(token)
    partner.token_prefix = token[: len(TOKEN_PREFIX) + 4]
    return token


_ALREADY_PARTNER = N_(
    "This region is already a partner: give it a new token instead of a second one."
)


def issue_partner(
    session: Session,
    region: str,
    email: str,
    scopes: list[str],
    by: int | None,
    *,
    upstream: bool = False,
) -> tuple[Partner, str]:
    """Add a partner region and its new token; the token is returned only here.
    ``upstream``: the upstream region's own token, which alone may send the reserved
    names (:data:`RESERVED_NAMES`).

    A region is a partner once: one already listed (spaces and case aside) is refused;
    give it a new token with :func:`rotate_partner` instead.

    :raises PartnerError: with the problems of every field at fault.
    """
    problems: dict[str, list[str]] = {}
    region = " ".join(region.split())
    if not region or len(region) > 200:
        problems["region"] = [N_("Enter the name of the partner region.")]
    elif partner_of_region(session, region) is not None:
        problems["region"] = [_ALREADY_PARTNER]
    address = email_address(email)
    if not email.strip():
        problems["email"] = [N_("Enter a contact e-mail address.")]
    elif address is None:
        problems["email"] = [
            N_("The contact e-mail address is not valid: write it as name@example.go.id.")
        ]
    chosen = [s for s in SCOPES if s in scopes]
    if not chosen or len(chosen) != len(set(scopes)):
        problems["scopes"] = [N_("Choose at least one of the listed permissions.")]
    if problems:
        raise PartnerError(problems)
    partner = Partner(
        region=region,
        region_key=region_key(region),
        email=address or "",
        scopes=" ".join(chosen),
        upstream=upstream,
        created_by_id=by,
    )
    token = _new_token(partner)
    try:
        with session.begin_nested():  # another admin may have added it a moment ago
            session.add(partner)
    except IntegrityError:
        raise PartnerError({"region": [_ALREADY_PARTNER]}) from None
    return partner, token


def rotate_partner(session: Session, partner: Partner, by: int | None, now: datetime) -> str:
    """Give ``partner`` a new token, returned only here; its old token stops working at
    once. The partner stays the same: what it sent (submissions, evaluations and their
    threads, endorsements, usage reports) is still its own. A revoked partner is live
    again with the new token."""
    token = _new_token(partner)
    partner.created_at, partner.created_by_id, partner.revoked_at = now, by, None
    session.flush()
    return token


def revoke_partner(session: Session, partner: Partner, now: datetime) -> None:
    """End the partner's token at once; its submissions stay."""
    if partner.revoked_at is None:
        partner.revoked_at = now
        session.flush()


def partner_for_token(session: Session, token: str) -> Partner | None:
    """The live partner holding ``token``, or ``None``."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    stmt = select(Partner).where(
        Partner.token_hash == hash_token(token), Partner.revoked_at.is_(None)
    )
    return session.scalars(stmt).first()


# -- submissions -------------------------------------------------------------------

#: The largest file the registry takes (bytes).
MAX_UPLOAD = 50 * 1024 * 1024
#: Only Balai's own kind of distribution: ``balai-<name>``.
PROJECT_RE = re.compile(r"^balai-[a-z0-9][a-z0-9-]*$")
FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,254}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: The names only the upstream region's own tokens may send (``REGISTRY_RESERVED_NAMES``
#: replaces them): the distributions the project ships, and the core's own family.
#: Normalised names (PEP 503); ``*`` and ``?`` match as in shell patterns.
RESERVED_NAMES = (
    "balai",
    "balai-core",
    "balai-core-*",
    "balai-pengaduan",
    "balai-pengumuman",
    "balai-puskesmas",
    "balai-registry",
    "balai-theme-default",
)
#: The answer to an upload under a name the partner may not use, whatever the reason:
#: it tells nothing of other partners' work.
NOT_YOURS = N_(
    "The name %(project)s is not available to your region: it is reserved for the "
    "upstream region or another region sends it."
)


def reserved_names(setting: str | Sequence[str] | None) -> tuple[str, ...]:
    """The reserved names a ``REGISTRY_RESERVED_NAMES`` setting gives: a list of names
    or patterns, or one string of them separated by commas or spaces; ``None`` gives
    :data:`RESERVED_NAMES`."""
    if setting is None:
        return RESERVED_NAMES
    items = re.split(r"[,\s]+", setting) if isinstance(setting, str) else list(setting)
    return tuple(re.sub(r"[-_.]+", "-", str(i).strip()).lower() for i in items if str(i).strip())


def is_reserved(project: str, reserved: Sequence[str]) -> bool:
    """Whether the normalised name ``project`` is among (or matches) ``reserved``."""
    return any(fnmatch.fnmatchcase(project, pattern) for pattern in reserved)


#: A submission's status in words (message ids), as its report page says it.
STATUS_NAMES = {
    "pending": N_("waiting for its checks"),
    "checked": N_("checked, awaiting a decision"),
    "published": N_("published"),
    "rejected": N_("rejected"),
}


class UploadError(ValueError):
    """An upload the rules refuse: ``message`` is a message id with ``params``;
    ``status`` the HTTP status to answer (400, or 403 for another partner's name).
    The ``state`` parameter is a message id too (one of :data:`STATUS_NAMES`)."""

    def __init__(self, message: str, status: int = 400, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message, self.status, self.params = message, status, params


@dataclass(frozen=True)
class Upload:
    """The fields of a legacy upload (``:action=file_upload``) and its file."""

    action: str
    name: str
    version: str
    filetype: str
    sha256_digest: str
    filename: str
    data: bytes = field(repr=False)


def file_key(sha256: str, filename: str) -> str:
    """Where a file is kept in the registry's folder of the region's storage."""
    return f"files/{sha256}/{filename}"


def accept_upload(
    session: Session,
    partner: Partner,
    upload: Upload,
    *,
    reserved: Sequence[str] = RESERVED_NAMES,
) -> tuple[Submission, distribution.Metadata]:
    """A new pending submission of ``upload`` sent by ``partner``; the caller stores
    the file under :func:`file_key` before committing. ``reserved``: the names only
    the upstream region's own tokens may send (:func:`reserved_names`).

    :raises UploadError: with the first problem found.
    """
    if upload.action != "file_upload":
        raise UploadError(N_("Only :action=file_upload is supported."))
    try:
        parsed = _checked_form(upload)
        metadata = _checked_metadata(upload, parsed)
    except distribution.DistributionError as exc:
        raise UploadError(exc.message, **exc.params) from exc
    version = version_of(metadata.version)
    assert version is not None  # _checked_metadata compared it with the form's
    _refuse_duplicates(session, partner, upload.filename, metadata.project, version, reserved)
    submission = Submission(
        key=secrets.token_urlsafe(16),
        partner_id=partner.id,
        project=metadata.project,
        name=metadata.name,
        version=_release_version(session, metadata.project, version),
        filename=upload.filename,
        filetype=parsed.filetype,
        sha256=hashlib.sha256(upload.data).hexdigest(),
        size=len(upload.data),
        kind=metadata.kind,
        summary=metadata.summary,
        licence=metadata.licence,
        requires_python=metadata.requires_python,
        requires_core=metadata.requires_core,
        metadata_text=metadata.text,
        status="pending",
    )
    session.add(submission)
    session.flush()
    return submission, metadata


def _checked_form(upload: Upload) -> distribution.FileName:
    if not upload.name.strip() or not upload.version.strip():
        raise UploadError(N_("The fields name and version are required."))
    if len(upload.name.strip()) > MAX_NAME:
        raise UploadError(N_("The field name is longer than %(count)d characters."), count=MAX_NAME)
    if len(upload.version.strip()) > MAX_VERSION:
        raise UploadError(
            N_("The field version is longer than %(count)d characters."), count=MAX_VERSION
        )
    if upload.filetype not in distribution.FILETYPES:
        raise UploadError(N_("filetype must be bdist_wheel or sdist."))
    if not FILENAME_RE.match(upload.filename):
        raise UploadError(
            N_("The file name %(filename)r is not allowed."), filename=upload.filename
        )
    parsed = distribution.parse_filename(upload.filename)
    if parsed.filetype != upload.filetype:
        raise UploadError(
            N_("filetype %(filetype)s does not match the file %(filename)s."),
            filetype=upload.filetype,
            filename=upload.filename,
        )
    if not upload.data:
        raise UploadError(N_("The file is empty."))
    if len(upload.data) > MAX_UPLOAD:
        raise UploadError(N_("The file is larger than %(mb)d MB."), mb=MAX_UPLOAD // 2**20)
    digest = upload.sha256_digest.strip().lower()
    if not SHA256_RE.match(digest):
        raise UploadError(N_("sha256_digest is required (64 hexadecimal digits)."))
    if hashlib.sha256(upload.data).hexdigest() != digest:
        raise UploadError(N_("The file's SHA-256 differs from sha256_digest: it was damaged."))
    return parsed


def _checked_metadata(upload: Upload, parsed: distribution.FileName) -> distribution.Metadata:
    metadata = distribution.read_metadata(upload.filename, upload.data)
    if len(metadata.name) > MAX_NAME:
        raise UploadError(
            N_("The Name in the file's metadata is longer than %(count)d characters."),
            count=MAX_NAME,
        )
    if len(metadata.version) > MAX_VERSION:
        raise UploadError(
            N_("The Version in the file's metadata is longer than %(count)d characters."),
            count=MAX_VERSION,
        )
    project = canonicalize_name(upload.name)
    if not PROJECT_RE.match(project):
        raise UploadError(
            N_("Only Balai plugins and themes are taken: the name must start with balai-.")
        )
    if parsed.project != metadata.project or parsed.version != version_of(metadata.version):
        raise UploadError(
            N_(
                "The file name says %(file_name)s %(file_version)s, its metadata "
                "%(name)s %(version)s: they must be the same."
            ),
            file_name=parsed.project,
            file_version=str(parsed.version),
            name=metadata.name,
            version=metadata.version,
        )
    if metadata.project != project:
        raise UploadError(
            N_("The name %(name)s differs from the file's own metadata (%(inside)s)."),
            name=upload.name,
            inside=metadata.name,
        )
    if not (_same_version(upload.version, metadata.version) and parsed.version == _v(upload)):
        raise UploadError(
            N_("The version %(version)s differs from the file's own metadata (%(inside)s)."),
            version=upload.version,
            inside=metadata.version,
        )
    version = version_of(metadata.version)
    if version is not None and len(str(version)) > MAX_VERSION:  # normalising lengthened it
        raise UploadError(
            N_("The Version in the file's metadata is longer than %(count)d characters."),
            count=MAX_VERSION,
        )
    if version is not None and version.local is not None:
        raise UploadError(
            N_(
                "The version %(version)s is a local version (with +): the registry takes "
                "public versions only, as PyPI does. Send it without +%(local)s."
            ),
            version=metadata.version,
            local=version.local,
        )
    distribution.check_files(upload.filename, upload.data)
    distribution.refuse_scripts(metadata)
    return metadata


def _v(upload: Upload) -> Version | None:
    return version_of(upload.version)


def _same_version(one: str, other: str) -> bool:
    first, second = version_of(one), version_of(other)
    return first is not None and first == second


def _release_version(session: Session, project: str, version: Version) -> str:
    """How ``version`` of ``project`` is kept: as the files of the same release sent
    before spell it (``0.2`` and ``0.2.0`` are one release), else its normalised form."""
    for kept in session.scalars(
        select(Submission.version).where(Submission.project == project).order_by(Submission.id)
    ):
        if version_of(kept) == version:
            return kept
    return str(version)


def _file_kind(filename: str) -> tuple[object, ...]:
    """What a file is within its release: the sdist, or a wheel with its build and tags.
    Two files of one release of the same kind are one file (pip takes either)."""
    if filename.endswith(".whl"):
        try:
            _name, _version, build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return ("wheel", filename)
        return ("wheel", build, tags)
    return ("sdist",)


def _same_file(
    session: Session, filename: str, project: str, version: Version
) -> Submission | None:
    """A submission of this very file: the same name, or the same kind of file of the
    same release under another spelling of its version (``0.2`` and ``0.2.0``)."""
    earlier = session.scalars(select(Submission).where(Submission.filename == filename)).first()
    if earlier is not None:
        return earlier
    kind = _file_kind(filename)
    for found in session.scalars(
        select(Submission).where(Submission.project == project).order_by(Submission.id)
    ):
        if version_of(found.version) == version and _file_kind(found.filename) == kind:
            return found
    return None


def owner_of(session: Session, project: str) -> int | None:
    """The partner whose release of ``project`` was published first (it owns the name),
    or ``None`` while nothing of it is published. Pending, failed or rejected
    submissions lock no name."""
    stmt = (
        select(Submission.partner_id)
        .where(Submission.project == project, Submission.status == "published")
        .order_by(Submission.decided_at, Submission.id)
    )
    return session.scalars(stmt).first()


def may_send(
    session: Session, partner: Partner | None, project: str, reserved: Sequence[str]
) -> bool:
    """Whether ``partner`` may send (and have published) files of ``project``: a
    reserved name only with the upstream region's own token, any other name unless
    another partner's release of it was published first."""
    if partner is None:
        return False
    if is_reserved(project, reserved):
        return partner.upstream
    published = session.scalars(
        select(Submission.id).where(Submission.project == project, Submission.status == "published")
    ).first()
    return published is None or owner_of(session, project) == partner.id


def _refuse_duplicates(
    session: Session,
    partner: Partner,
    filename: str,
    project: str,
    version: Version,
    reserved: Sequence[str],
) -> None:
    if not may_send(session, partner, project, reserved):
        raise UploadError(NOT_YOURS, status=403, project=project)
    earlier = _same_file(session, filename, project, version)
    if earlier is None:
        return
    if earlier.partner_id != partner.id:  # another region's file: nothing of it is told
        raise UploadError(NOT_YOURS, status=403, project=project)
    if earlier.filename != filename:
        raise UploadError(
            N_(
                "File already exists: %(filename)s is the same file of version %(version)s "
                "as %(earlier)s, sent before (submission %(id)s, %(state)s). A file is never "
                "sent twice: send a new version."
            ),
            filename=filename,
            version=earlier.version,
            earlier=earlier.filename,
            id=earlier.id,
            state=STATUS_NAMES.get(earlier.status, earlier.status),
        )
    raise UploadError(
        N_(
            "File already exists: %(filename)s was sent before (submission %(id)s, "
            "%(state)s). A file name is never used twice: send a new version."
        ),
        filename=filename,
        id=earlier.id,
        state=STATUS_NAMES.get(earlier.status, earlier.status),
    )


def record_check(submission: Submission, report: dict[str, Any], now: datetime) -> None:
    """Keep the check's report of a pending submission: it then waits for a maintainer."""
    submission.report = report
    submission.checked_at = now
    if submission.status == "pending":
        submission.status = "checked"


class DecisionError(ValueError):
    """A decision the rules refuse; the message is a message id."""


def decide(
    submission: Submission,
    publish: bool,
    comment: str,
    by: int | None,
    now: datetime,
    *,
    reserved: Sequence[str] = RESERVED_NAMES,
) -> None:
    """Publish or reject a checked submission, with the maintainer's comment.

    :raises DecisionError: it is not waiting for a decision, its checks (or those of
        another file of the same version, see :func:`failed_files`) did not pass (it may
        only be rejected), another file of the same version still waits for its checks
        (:func:`unchecked_files`), its name is reserved or another partner's release of it was
        published first (it may only be rejected), or a rejection has no comment.
    """
    if submission.status != "checked":
        raise DecisionError(N_("Only a checked submission that awaits a decision can be decided."))
    if publish and not submission.passed:
        raise DecisionError(N_("A submission whose checks did not pass cannot be published."))
    session = object_session(submission)
    siblings = release_siblings(session, submission) if publish and session is not None else []
    if failed_files(siblings):
        raise DecisionError(
            N_(
                "Another file of this version did not pass its checks: the version cannot "
                "be published. Reject it; the partner sends a new version."
            )
        )
    if unchecked_files(siblings):
        raise DecisionError(
            N_(
                "Another file of this version is still waiting for its checks: the version "
                "can be published once every file of it has been checked."
            )
        )
    if (
        publish
        and session is not None
        and not may_send(session, submission.partner, submission.project, reserved)
    ):
        raise DecisionError(
            N_(
                "The name of this submission is reserved for the upstream region or belongs "
                "to the region whose release of it was published first: it can only be "
                "rejected."
            )
        )
    if not publish and not comment.strip():
        raise DecisionError(N_("Say why the submission is rejected."))
    submission.status = "published" if publish else "rejected"
    submission.comment = comment.strip()
    submission.decided_at, submission.decided_by_id = now, by


def release_siblings(session: Session, submission: Submission) -> list[Submission]:
    """The other files of the same release as ``submission`` (the sdist beside a wheel,
    wheels for other platforms), whatever their status, oldest first."""
    stmt = select(Submission).where(
        Submission.project == submission.project,
        Submission.version == submission.version,
        Submission.id != submission.id,
    )
    return list(session.scalars(stmt.order_by(Submission.id)))


def failed_files(siblings: Sequence[Submission]) -> list[Submission]:
    """Of the other files of a version (:func:`release_siblings`), those whose checks did
    not pass (a wheel that passes while the sdist's tests fail must not be published
    either)."""
    return [other for other in siblings if other.passed is False]


def unchecked_files(siblings: Sequence[Submission]) -> list[Submission]:
    """Of the other files of a version (:func:`release_siblings`), those whose checks have
    not run yet (or run again): the version waits for them, as one of them may yet fail."""
    return [other for other in siblings if other.report is None]


def release_files(session: Session, project: str, version: str) -> list[Submission]:
    """The published files of one release of a project: every file whose version is
    ``version`` as PEP 440 compares them (``0.2`` and ``0.2.0`` are one release)."""
    wanted = version_of(version)
    stmt = select(Submission).where(
        Submission.project == canonicalize_name(project), Submission.status == "published"
    )
    return [
        found
        for found in session.scalars(stmt.order_by(Submission.filename))
        if (version_of(found.version) == wanted if wanted is not None else found.version == version)
    ]


def yank(session: Session, project: str, version: str, reason: str, now: datetime) -> int:
    """Yank every published file of a version (PEP 592); returns how many.

    :raises DecisionError: without a reason.
    """
    if not reason.strip():
        raise DecisionError(N_("Say why the version is yanked."))
    files = release_files(session, project, version)
    for found in files:
        found.yanked_at, found.yanked_reason = now, reason.strip()[:500]
    session.flush()
    return len(files)


def unyank(session: Session, project: str, version: str) -> int:
    """Take a yank back; returns how many files it was on."""
    files = release_files(session, project, version)
    for found in files:
        found.yanked_at, found.yanked_reason = None, ""
    session.flush()
    return len(files)


@dataclass(frozen=True)
class Page:
    """One page of a listing."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def list_submissions(session: Session, *, page: int = 1, per_page: int = 30) -> Page:
    """Every submission, those awaiting a decision first, then newest first."""
    waiting = case((Submission.status.in_(("pending", "checked")), 0), else_=1)
    stmt = select(Submission).order_by(waiting, Submission.id.desc())
    total = session.scalar(select(func.count(Submission.id))) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, total)
