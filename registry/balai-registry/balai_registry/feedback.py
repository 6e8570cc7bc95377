"""Evaluations (*evaluasi*) partner regions send about a plugin, and their threads.

A partner region reports what it found while running a plugin (with a severity and,
if it has one, a patch); the upstream region's maintainers answer in the thread and
move its status. Every action on a thread is kept as an :class:`EvaluationEvent`
(the audit trail). An evaluation may come with a *derived plugin*: a distribution file
that becomes an ordinary submission (:func:`attach_derived`). Endorsements
(*dukungan*) say that a region stands behind a plugin version. No Flask here: every
function takes the session and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from packaging.version import InvalidVersion, Version
from sqlalchemy import ForeignKey, Index, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from balai.db import Base, TenantScoped, utcnow
from balai.i18n import N_
from balai_registry import distribution, services
from balai_registry.models import Partner, Submission
from balai_registry.names import plugin_name, plugin_version
from balai_registry.usage import regions_running

__all__ = [
    "ACTIONS",
    "PATCH_LIMIT",
    "SEVERITIES",
    "STATUSES",
    "TEXT_LIMIT",
    "Endorsement",
    "Evaluation",
    "EvaluationEvent",
    "EvaluationReply",
    "FeedbackError",
    "OpenSummary",
    "attach_derived",
    "derived_upload",
    "endorse",
    "endorsements_of",
    "evaluation_counts",
    "feedback_context",
    "open_summary",
    "reply",
    "set_status",
    "submit_evaluation",
]

SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "answered", "planned", "done", "declined")
#: What the audit trail of a thread records.
ACTIONS = ("opened", "replied", "status")
#: The largest patch a partner may attach, in bytes of UTF-8.
PATCH_LIMIT = 1024 * 1024
#: The longest evaluation or reply text, in characters.
TEXT_LIMIT = 20_000
NOTE_LIMIT = 2000


class FeedbackError(ValueError):
    """Input the rules refuse; ``errors`` maps each field to its message ids."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Evaluation(TenantScoped, Base):
    """What a partner region found while running a plugin version (*evaluasi*)."""

    __tablename__ = "registry_evaluation"
    __table_args__ = (
        Index("ix_registry_evaluation_tenant_id_plugin_status", "tenant_id", "plugin", "status"),
        Index("ix_registry_evaluation_tenant_id_partner_id", "tenant_id", "partner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("registry_partner.id", ondelete="CASCADE"))
    plugin: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    patch: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship(lazy="joined")
    replies: Mapped[list[EvaluationReply]] = relationship(
        order_by="(EvaluationReply.created_at, EvaluationReply.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    #: The derived plugin sent with it (a submission), if any.
    derived: Mapped[Submission | None] = relationship(
        Submission, uselist=False, viewonly=True, lazy="selectin"
    )


class EvaluationReply(TenantScoped, Base):
    """A message in an evaluation's thread, from the partner or from upstream."""

    __tablename__ = "registry_evaluation_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("registry_evaluation.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(200))
    from_upstream: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationEvent(TenantScoped, Base):
    """The audit trail of a thread: who opened it, replied, or changed its status."""

    __tablename__ = "registry_evaluation_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("registry_evaluation.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    old_status: Mapped[str | None] = mapped_column(String(10))
    new_status: Mapped[str | None] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Endorsement(TenantScoped, Base):
    """A region standing behind a plugin version (*dukungan*): a partner, or upstream."""

    __tablename__ = "registry_endorsement"
    __table_args__ = (Index("ix_registry_endorsement_tenant_id_plugin", "tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    endorser: Mapped[str] = mapped_column(String(200))
    from_upstream: Mapped[bool] = mapped_column(default=False)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_partner.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("balai_user.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- names and versions ------------------------------------------------------------


def _release(plugin: str, version: str, problems: dict[str, list[str]]) -> tuple[str, str]:
    name, normal = plugin_name(plugin), plugin_version(version)
    if name is None:
        problems["plugin"] = [N_("Give the plugin's distribution name, such as balai-pengaduan.")]
    if normal is None:
        problems["version"] = [N_("Give a version as Python packages number them, such as 1.2.0.")]
    return name or "", normal or ""


# -- evaluations --------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """An evaluation as a partner sends it."""

    plugin: str
    version: str
    severity: str
    title: str
    body: str
    patch: str | None = None


def submit_evaluation(
    session: Session, partner: Partner, draft: Draft, now: datetime
) -> Evaluation:
    """Open a thread for ``partner``'s evaluation; nothing is added if a rule fails.

    :raises FeedbackError: with the problems of every field at fault.
    """
    problems: dict[str, list[str]] = {}
    plugin, version = _release(draft.plugin, draft.version, problems)
    if draft.severity not in SEVERITIES:
        problems["severity"] = [N_("Choose one of the listed severities.")]
    title, body = " ".join(draft.title.split()), draft.body.strip()
    if not title or len(title) > 200:
        problems["title"] = [N_("Give a title of at most 200 characters.")]
    if not body:
        problems["body"] = [N_("Describe what you found.")]
    elif len(body) > TEXT_LIMIT:
        problems["body"] = [N_("Keep the text to at most 20000 characters.")]
    patch = draft.patch if draft.patch and draft.patch.strip() else None
    if patch is not None and len(patch.encode()) > PATCH_LIMIT:
        problems["patch"] = [N_("A patch may be at most 1 MB.")]
    if problems:
        raise FeedbackError(problems)
    evaluation = Evaluation(
        partner_id=partner.id,
        plugin=plugin,
        version=version,
        severity=draft.severity,
        title=title,
        body=body,
        patch=patch,
        status="open",
        created_at=now,
        updated_at=now,
    )
    session.add(evaluation)
    session.flush()
    _event(session, evaluation, "opened", partner.region, None, now, new="open")
    return evaluation


# -- a derived plugin sent with an evaluation ----------------------------------------


def derived_upload(filename: str, data: bytes, sha256_digest: str) -> services.Upload:
    """The upload of a derived plugin's file: its name and version are read from the
    file name, then checked against the file's own metadata as every upload's are.

    :raises services.UploadError: the file name is not that of a wheel or an sdist.
    """
    try:
        parsed = distribution.parse_filename(filename)
    except distribution.DistributionError as exc:
        raise services.UploadError(exc.message, **exc.params) from exc
    return services.Upload(
        action="file_upload",
        name=parsed.project,
        version=str(parsed.version),
        filetype=parsed.filetype,
        sha256_digest=sha256_digest,
        filename=filename,
        data=data,
    )


def attach_derived(
    session: Session, partner: Partner, plugin: str, upload: services.Upload
) -> Submission:
    """A new pending submission of ``upload``, a derived plugin of ``plugin`` (the
    evaluated plugin's name): the caller links it to the evaluation, stores the file
    and queues its check, as for any upload.

    Every rule of an upload applies unchanged (:func:`services.accept_upload`: only
    ``balai-`` names, the metadata must agree, a file name is never used twice, a name
    belongs to the partner that first sent it). A file under another name than
    ``plugin`` must moreover be a *new* name: one no submission holds yet, or one the
    same partner holds only through derived plugins of ``plugin`` sent before. Another
    plugin's file is never taken here, not even the partner's own.

    :raises services.UploadError: with the first problem found (nothing is kept:
        the caller rolls back).
    """
    submission, _metadata = services.accept_upload(session, partner, upload)
    if submission.project == plugin_name(plugin):
        return submission
    earlier = session.scalars(
        select(Submission).where(
            Submission.project == submission.project,
            Submission.id != submission.id,
            Submission.status != "rejected",
        )
    )
    for found in earlier:
        origin = session.get(Evaluation, found.evaluation_id) if found.evaluation_id else None
        if origin is None or origin.plugin != plugin_name(plugin):
            raise services.UploadError(
                N_(
                    "The name %(project)s is already taken: a derived plugin is either "
                    "%(plugin)s itself or has a new name of its own."
                ),
                project=submission.project,
                plugin=plugin_name(plugin) or plugin,
            )
    return submission


def partner_evaluations(partner: Partner) -> Select[tuple[Evaluation]]:
    """The statement of ``partner``'s own evaluations, newest first (for a page of them)."""
    return (
        select(Evaluation)
        .where(Evaluation.partner_id == partner.id)
        .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
    )


def partner_evaluation(session: Session, partner: Partner, evaluation_id: int) -> Evaluation | None:
    """``partner``'s own evaluation ``evaluation_id``; another partner's is ``None``."""
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.partner_id != partner.id:
        return None
    return evaluation


def reply(
    session: Session,
    evaluation: Evaluation,
    body: str,
    now: datetime,
    *,
    partner: Partner | None = None,
    maintainer: tuple[int, str] | None = None,
    status: str | None = None,
) -> EvaluationReply | None:
    """Add a message to the thread, from ``partner`` or from ``maintainer`` (id, name).

    A maintainer may also move the status (``status``; a reply alone moves an open
    thread to *answered*); a partner's reply reopens an answered thread. With a status
    change a maintainer's body may be empty; then no message is added.

    :raises FeedbackError: when the body is empty (and nothing else changes) or the
        status is unknown.
    """
    body = body.strip()
    if status is not None and (partner is not None or status not in STATUSES):
        raise FeedbackError({"status": [N_("Choose one of the listed statuses.")]})
    if status == evaluation.status:
        status = None  # the form sends the status it shows: no change
    if not body and status is None:
        raise FeedbackError({"body": [N_("Write a reply.")]})
    if len(body) > TEXT_LIMIT:
        raise FeedbackError({"body": [N_("Keep the text to at most 20000 characters.")]})
    actor = partner.region if partner is not None else (maintainer or (None, ""))[1]
    user_id = maintainer[0] if maintainer is not None else None
    added = None
    if body:
        added = EvaluationReply(
            evaluation_id=evaluation.id,
            author=actor,
            from_upstream=partner is None,
            user_id=user_id,
            body=body,
            created_at=now,
        )
        session.add(added)
        evaluation.replies.append(added)
        _event(session, evaluation, "replied", actor, user_id, now)
    if status is None and body:
        status = _status_after_reply(evaluation.status, from_upstream=partner is None)
    if status is not None and status != evaluation.status:
        set_status(session, evaluation, status, actor, user_id, now)
    evaluation.updated_at = now
    session.flush()
    return added


def _status_after_reply(status: str, *, from_upstream: bool) -> str:
    if from_upstream:
        return "answered" if status == "open" else status
    return "open" if status == "answered" else status


def set_status(
    session: Session,
    evaluation: Evaluation,
    status: str,
    actor: str,
    user_id: int | None,
    now: datetime,
) -> None:
    """Move the thread to ``status`` and note who did it in the audit trail."""
    if status not in STATUSES:
        raise FeedbackError({"status": [N_("Choose one of the listed statuses.")]})
    old, evaluation.status, evaluation.updated_at = evaluation.status, status, now
    _event(session, evaluation, "status", actor, user_id, now, old=old, new=status)


def _event(
    session: Session,
    evaluation: Evaluation,
    action: str,
    actor: str,
    user_id: int | None,
    now: datetime,
    *,
    old: str | None = None,
    new: str | None = None,
) -> None:
    session.add(
        EvaluationEvent(
            evaluation_id=evaluation.id,
            action=action,
            actor=actor[:254] or "-",
            user_id=user_id,
            old_status=old,
            new_status=new,
            at=now,
        )
    )


def events_of(session: Session, evaluation: Evaluation) -> list[EvaluationEvent]:
    """The audit trail of a thread, oldest first."""
    stmt = (
        select(EvaluationEvent)
        .where(EvaluationEvent.evaluation_id == evaluation.id)
        .order_by(EvaluationEvent.at, EvaluationEvent.id)
    )
    return list(session.scalars(stmt))


def threads(plugin: str | None = None, status: str | None = None) -> Select[tuple[Evaluation]]:
    """The statement of the threads a maintainer lists, most recently changed first."""
    stmt = select(Evaluation)
    if plugin:
        stmt = stmt.where(Evaluation.plugin == plugin)
    if status:
        stmt = stmt.where(Evaluation.status == status)
    return stmt.order_by(Evaluation.updated_at.desc(), Evaluation.id.desc())


def evaluation_counts(session: Session) -> list[tuple[str, dict[str, int]]]:
    """Per plugin (by name), how many threads are in each status."""
    stmt = select(Evaluation.plugin, Evaluation.status, func.count()).group_by(
        Evaluation.plugin, Evaluation.status
    )
    counts: dict[str, dict[str, int]] = {}
    for plugin, status, count in session.execute(stmt):
        counts.setdefault(plugin, dict.fromkeys(STATUSES, 0))[status] = count
    return sorted(counts.items())


# -- the public summary -----------------------------------------------------------


@dataclass(frozen=True)
class OpenSummary:
    """What the catalogue shows of a plugin's open evaluations: no partner, no contact."""

    total: int
    by_severity: dict[str, int]
    titles: list[tuple[str, str, str]]  # (title, version, severity), newest first


def open_summary(session: Session, plugin: str, limit: int = 10) -> OpenSummary:
    """The open, planned and answered evaluations of ``plugin``: counts and titles."""
    name = plugin_name(plugin) or plugin
    stmt = (
        select(Evaluation.title, Evaluation.version, Evaluation.severity)
        .where(Evaluation.plugin == name, Evaluation.status.in_(("open", "answered", "planned")))
        .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
    )
    rows = [tuple(row) for row in session.execute(stmt)]
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for _title, _version, severity in rows:
        by_severity[severity] = by_severity.get(severity, 0) + 1
    return OpenSummary(len(rows), by_severity, rows[:limit])  # type: ignore[arg-type]


# -- endorsements --------------------------------------------------------------------


def _published_release(
    session: Session, name: str, version: str, problems: dict[str, list[str]]
) -> str:
    """The version of ``name`` published here that equals ``version`` (PEP 440), as
    its file names it, normalised; else notes the problem in ``problems``."""
    if not name:
        return version
    stmt = select(Submission.version, Submission.yanked_at).where(
        Submission.project == name, Submission.status == "published"
    )
    published = list(session.execute(stmt))
    if not published:
        problems["plugin"] = [
            N_(
                "No plugin of this name is published here: give its distribution name "
                "as the catalogue shows it, such as balai-pengaduan."
            )
        ]
        return version
    if not version:
        return version
    same = [(v, yanked) for v, yanked in published if _same_version(v, version)]
    if not same:
        problems["version"] = [N_("This plugin has no published version with this number.")]
    elif all(yanked is not None for _v, yanked in same):
        problems["version"] = [N_("This version is yanked: endorse one that is not.")]
    else:
        return plugin_version(same[0][0]) or version
    return version


def _same_version(one: str, other: str) -> bool:
    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return False


def endorse(
    session: Session,
    plugin: str,
    version: str,
    note: str,
    now: datetime,
    *,
    partner: Partner | None = None,
    upstream: tuple[int, str] | None = None,
) -> Endorsement:
    """A region stands behind ``plugin`` ``version``: ``partner``, or the upstream
    region itself, ``upstream`` being (the maintainer's user id, the region's name).

    The version must be a published, not yanked, release of the registry (names and
    versions compared normalised). The endorser shown is the region's name. Endorsing
    the same version again changes the note; upstream endorses as one.

    :raises FeedbackError: with the problems of every field at fault.
    """
    problems: dict[str, list[str]] = {}
    name, normal = _release(plugin, version, problems)
    normal = _published_release(session, name, normal, problems)
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        problems["note"] = [N_("A note may be at most 2000 characters.")]
    if problems:
        raise FeedbackError(problems)
    stmt = select(Endorsement).where(Endorsement.plugin == name, Endorsement.version == normal)
    if partner is not None:
        stmt = stmt.where(Endorsement.partner_id == partner.id)
    else:
        stmt = stmt.where(Endorsement.from_upstream.is_(True))
    endorsement = session.scalars(stmt).first()
    if endorsement is None:
        endorsement = Endorsement(plugin=name, version=normal, created_at=now)
        session.add(endorsement)
    endorsement.endorser = partner.region if partner is not None else (upstream or (0, ""))[1]
    endorsement.from_upstream = partner is None
    endorsement.partner_id = partner.id if partner is not None else None
    endorsement.user_id = upstream[0] if upstream is not None else None
    endorsement.note = note
    session.flush()
    return endorsement


def endorsements_of(session: Session, plugin: str | None = None) -> list[Endorsement]:
    """Endorsements (of ``plugin``, or all), upstream's first, then newest first."""
    stmt = select(Endorsement)
    if plugin is not None:
        stmt = stmt.where(Endorsement.plugin == (plugin_name(plugin) or plugin))
    stmt = stmt.order_by(
        Endorsement.from_upstream.desc(), Endorsement.created_at.desc(), Endorsement.id.desc()
    )
    return list(session.scalars(stmt))


def feedback_context(session: Session, plugin: str) -> dict[str, object]:
    """What the catalogue's plugin page passes to the partials of ``registry/feedback/``.

    ``evaluation_summary`` for ``_summary.html``, ``running`` for ``_running.html``,
    ``endorsements`` for ``_endorsements.html``.
    """
    return {
        "evaluation_summary": open_summary(session, plugin),
        "running": regions_running(plugin, session),
        "endorsements": endorsements_of(session, plugin),
    }
