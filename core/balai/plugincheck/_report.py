"""The report of a plugin check, and its JSON form (``to_dict`` / ``from_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Mark ``message`` for the core's catalogue (it is translated where it is shown)."""
    return message


class Message(str):
    """A summary in English that keeps its message id and parameters, so that a page
    shows it in the reader's language (:func:`summary_text`)."""

    message: str
    params: dict[str, Any]

    def __new__(cls, message: str, **params: Any) -> Message:
        made = super().__new__(cls, message % params if params else message)
        made.message, made.params = message, params
        return made


def summary_text(check: Any, translate: Any = None) -> str:
    """A check's summary (a :class:`CheckResult` or its dict) in the reader's language:
    its message id translated by ``translate`` (default: Flask-Babel's ``gettext``)
    and filled in; a summary without a message id as it is."""
    get = (
        check.get
        if isinstance(check, dict)
        else lambda key, default=None: getattr(check, key, default)
    )
    message, params = get("message", "") or "", get("params", None) or {}
    if not message:
        return str(get("summary", "") or "")
    if translate is None:
        from flask_babel import gettext as translate
    try:
        return str(translate(message)) % params if params else str(translate(message))
    except (KeyError, TypeError, ValueError):  # a catalogue that does not fit: English
        return str(get("summary", "") or "")


#: What a check can come to: ``error`` is a check that could not run to the end.
STATUSES = ("passed", "failed", "skipped", "error")

#: Every check, in the order they run.
CHECKS = (
    "metadata",
    "hooks",
    "conventions",
    "routes",
    "settings",
    "migrations-sqlite",
    "migrations-postgresql",
    "tests",
    "sweep",
    "bandit",
    "catalogue",
)

#: The keys of :attr:`CheckReport.inspection`, each present (empty when unknown).
INSPECTION_KEYS = (
    "name",
    "version",
    "kind",
    "summary",
    "licence",
    "requires_core",
    "hooks",
    "permissions",
    "settings",
    "migrations",
    "languages",
    "readme",
    "readme_content_type",
)


@dataclass
class CheckResult:
    """One check: its name (one of :data:`CHECKS`), status, a one-line summary and
    everything it printed."""

    name: str
    status: str
    summary: str
    output: str = ""
    #: The summary's message id and parameters (empty: the summary is not translated).
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")
        if isinstance(self.summary, Message) and not self.message:
            self.message, self.params = self.summary.message, dict(self.summary.params)
        self.summary = str(self.summary)

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")


@dataclass
class CheckReport:
    """Every check of one distribution, and what the distribution declares."""

    checks: list[CheckResult] = field(default_factory=list)
    inspection: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every check of :data:`CHECKS` is in the report, each once, and each
        passed or was skipped for a stated reason (a skipped check does not count
        against it: see :attr:`skipped`): a report missing a check never passes."""
        names = [check.name for check in self.checks]
        if sorted(names) != sorted(CHECKS):
            return False
        return all(
            check.status == "passed" or (check.status == "skipped" and check.summary.strip())
            for check in self.checks
        )

    @property
    def skipped(self) -> int:
        """How many checks were skipped."""
        return sum(1 for check in self.checks if check.status == "skipped")

    def get(self, name: str) -> CheckResult | None:
        """The check called ``name``, if it ran."""
        return next((check for check in self.checks if check.name == name), None)

    def problems(self) -> list[CheckResult]:
        """The checks that failed or ended in error."""
        return [check for check in self.checks if not check.ok]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"passed", "checks": [...], "inspection": {...}}``."""
        return {
            "passed": self.passed,
            "skipped": self.skipped,
            "checks": [asdict(check) for check in self.checks],
            "inspection": dict(self.inspection),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """The report :meth:`to_dict` gave (``passed`` is worked out again)."""
        checks = [
            CheckResult(
                c["name"],
                c["status"],
                c.get("summary", ""),
                c.get("output", ""),
                c.get("message") or "",
                dict(c.get("params") or {}),
            )
            for c in data.get("checks", [])
        ]
        return cls(checks=checks, inspection=dict(data.get("inspection", {})))

    def text(self) -> str:
        """The report as plain text, one line per check then each problem's output."""
        lines = [f"{c.status.upper():8} {c.name}: {c.summary}" for c in self.checks]
        for check in self.problems():
            lines += ["", f"--- {check.name} ---", check.output.rstrip()]
        verdict = "FAILED"
        if self.passed:
            verdict = f"passed, {self.skipped} skipped" if self.skipped else "passed"
        lines += ["", verdict]
        return "\n".join(lines)
