"""The report of a plugin check, and its JSON form (``to_dict`` / ``from_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

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
        """True when there is at least one check and none failed or ended in error."""
        return bool(self.checks) and all(check.ok for check in self.checks)

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
            "checks": [asdict(check) for check in self.checks],
            "inspection": dict(self.inspection),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """The report :meth:`to_dict` gave (``passed`` is worked out again)."""
        checks = [
            CheckResult(c["name"], c["status"], c.get("summary", ""), c.get("output", ""))
            for c in data.get("checks", [])
        ]
        return cls(checks=checks, inspection=dict(data.get("inspection", {})))

    def text(self) -> str:
        """The report as plain text, one line per check then each problem's output."""
        lines = [f"{c.status.upper():8} {c.name}: {c.summary}" for c in self.checks]
        for check in self.problems():
            lines += ["", f"--- {check.name} ---", check.output.rstrip()]
        lines += ["", "passed" if self.passed else "FAILED"]
        return "\n".join(lines)
