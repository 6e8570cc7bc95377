"""The ``balai`` command: every command's success, and each refusal changing nothing."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from balai import Manifest, __version__, hookimpl
from balai.auth.models import Department, User
from balai.cli import cli
from balai.db import Base, db
from balai.tenancy import PluginState, Tenant, TenantInfo, registry

# Messages are translatable; these tests read them in English.
pytestmark = pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")

NEW_PASSWORD = "sandi-baru-yang-panjang"


class Sample:
    """A plugin with nothing in it: something to switch on and off."""

    name = "sample"


class NeedsSample:
    """A plugin that may be enabled only where ``sample`` is."""

    name = "needs-sample"
    manifest = Manifest(title="Needs sample", requires=("sample",))


class Misspelt:
    """A plugin implementing a hook that does not exist: installed but broken."""

    name = "misspelt"

    @hookimpl
    def menu_itemz(self) -> None:
        """Not a Balai hook."""


@pytest.fixture(autouse=True)
def _flask_run_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    # FlaskGroup sets FLASK_RUN_FROM_CLI; keep it from leaking into later tests.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")


@pytest.fixture
def run(app: Flask) -> Callable[..., Result]:
    """``run("tenants", "list", input=None)``: invoke ``balai`` on the test app."""
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input)

    return invoke


def refused(result: Result) -> str:
    """Assert a refusal: exit code 1 and exactly one ``Error:`` line; return that line."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def count(model: type[Base]) -> int:
    with db.all_tenants() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def counts() -> dict[str, int]:
    """Row counts of everything a command could write."""
    return {m.__name__: count(m) for m in (Tenant, User, PluginState, Department)}


# -- init, db upgrade, version ------------------------------------------------------


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in rows}
    connection.close()
    return tables


def test_init_creates_config_and_migrated_database_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(instance))
    runner = CliRunner()

    first = runner.invoke(cli, ["init"])

    assert first.exit_code == 0, first.output
    cfg = instance / "balai.cfg"
    assert f"wrote {cfg}" in first.output
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    settings: dict[str, Any] = {}
    exec(cfg.read_text(), settings)  # noqa: S102 - our own file, Python syntax like Flask reads it
    assert len(settings["SECRET_KEY"]) >= 32
    assert {"balai_alembic_version", "balai_tenant", "balai_user"} <= _tables(
        instance / "balai.sqlite"
    )

    second = runner.invoke(cli, ["init"])

    assert second.exit_code == 0, second.output
    assert f"kept {cfg}" in second.output
    assert cfg.read_text().count("SECRET_KEY") == 1
    assert settings["SECRET_KEY"] in cfg.read_text()


def test_init_hides_the_database_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    url = "postgresql+psycopg://balai:rahasia-sekali@db.example:5432/balai"
    (instance / "balai.cfg").write_text(f"SECRET_KEY = {'k' * 40!r}\nDATABASE_URL = {url!r}\n")
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(instance))
    monkeypatch.setattr("balai.cli.migrate", lambda app: None)  # no server to reach

    result = CliRunner().invoke(cli, ["init"])

    assert result.exit_code == 0, result.output
    assert "database ready: postgresql+psycopg://balai:***@db.example:5432/balai" in result.output
    assert "rahasia-sekali" not in result.output


def test_init_with_unreachable_database_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(instance))

    result = CliRunner().invoke(cli, ["init", "--database-url", "not a url"])

    assert "URL" in refused(result)
    assert not instance.exists()


@pytest.mark.parametrize("command", [["tenants", "list"], ["openapi", "print"], ["routes"]])
def test_commands_before_init_say_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """The core's commands and those the app adds (openapi) alike: the instance's
    problem, not also "No such command"."""
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(tmp_path / "nothing-here"))
    monkeypatch.delenv("BALAI_SECRET_KEY", raising=False)

    result = CliRunner().invoke(cli, command)

    assert "balai init" in refused(result)
    assert "No such command" not in result.output


def test_shell_completion_with_an_instance_that_cannot_load_stays_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BALAI_INSTANCE_PATH", str(tmp_path / "nothing-here"))
    monkeypatch.delenv("BALAI_SECRET_KEY", raising=False)
    completing = {
        "_BALAI_COMPLETE": "bash_complete",
        "COMP_WORDS": "balai openapi ",
        "COMP_CWORD": "2",
    }

    result = CliRunner().invoke(cli, [], prog_name="balai", env=completing)

    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"balai, version {__version__}"


def test_db_upgrade(run: Callable[..., Result]) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output


# -- tenants ---------------------------------------------------------------------


def test_tenants_create_and_list(run: Callable[..., Result], app: Flask) -> None:
    assert "no tenants yet" in run("tenants", "list").output

    result = run(
        "tenants", "create", "kota-tangerang", "--name", "Kota Tangerang",
        "--domain", "Tangerangkota.test", "--domain", "tangerangkota.test", "--domain", "tng.test",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.output == "created tenant kota-tangerang (Kota Tangerang)\n"
    tenant = registry(app).by_slug("kota-tangerang")
    assert tenant is not None
    assert set(tenant.domains) == {"tangerangkota.test", "tng.test"}
    listing = run("tenants", "list").output.splitlines()
    assert listing[0].split() == ["SLUG", "NAME", "DOMAINS", "PLUGINS"]
    assert listing[1].split() == [
        "kota-tangerang", "Kota", "Tangerang", "tangerangkota.test,", "tng.test", "-",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kota-a", "--name", "Lagi"], "Error: The slug kota-a is already taken."),
        (["Kota A", "--name", "X"], "Error: The slug may contain only lowercase letters"),
        (["kota-c", "--name", "C", "--domain", "kota-a.test"], "kota-a.test is already in use"),
        (["kota-c", "--name", "C", "--domain", "bad_host!"], "bad_host! is not a valid host"),
        (["kota-c", "--name", "  "], "Error: The name is required"),
    ],
)
def test_tenants_create_refuses(
    run: Callable[..., Result], tenant: TenantInfo, args: list[str], message: str
) -> None:
    before = counts()
    assert message in refused(run("tenants", "create", *args))
    assert counts() == before


# -- plugins ---------------------------------------------------------------------


@pytest.mark.balai_plugins(Sample(), NeedsSample(), Misspelt())
def test_plugins_list_shows_status_reason_and_tenants(
    run: Callable[..., Result], tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    assert run("plugins", "enable", "sample", "--tenant", "kota-b").exit_code == 0

    result = run("plugins", "list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["PLUGIN", "VERSION", "ENABLED", "FOR", "STATUS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows.keys() >= {"misspelt", "needs-sample", "sample"}  # and any installed ones
    assert rows["sample"].split()[2:] == ["kota-b", "ok"]
    assert rows["needs-sample"].split()[2:] == ["-", "ok"]
    assert "broken:" in rows["misspelt"]
    assert "menu_itemz" in rows["misspelt"]


@pytest.mark.balai_config(ALLOWED_PLUGINS=["needs-sample"])
@pytest.mark.balai_plugins(Sample(), NeedsSample())
def test_plugins_list_marks_plugins_the_operator_does_not_allow(
    run: Callable[..., Result],
) -> None:
    rows = {line.split()[0]: line for line in run("plugins", "list").output.splitlines()}
    assert rows["sample"].endswith("not allowed")
    assert rows["needs-sample"].endswith("ok")


def test_plugins_list_with_none_installed(run: Callable[..., Result]) -> None:
    result = run("plugins", "list")
    assert result.exit_code == 0
    assert "no plugins installed" in result.output or "PLUGIN" in result.output


@pytest.mark.balai_plugins(Sample(), NeedsSample())
def test_plugins_enable_and_disable(
    run: Callable[..., Result], app: Flask, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    result = run("plugins", "enable", "sample", "--tenant", "kota-a")
    assert result.exit_code == 0, result.output
    assert result.output == "sample enabled for kota-a\n"
    assert run("plugins", "enable", "needs-sample", "--tenant", "kota-a").exit_code == 0
    assert registry(app).by_slug("kota-a").plugins == {"sample", "needs-sample"}  # type: ignore[union-attr]
    assert registry(app).by_slug("kota-b").plugins == frozenset()  # type: ignore[union-attr]

    result = run("plugins", "disable", "needs-sample", "--tenant", "kota-a")

    assert result.exit_code == 0, result.output
    assert result.output == "needs-sample disabled for kota-a\n"
    assert registry(app).by_slug("kota-a").plugins == {"sample"}  # type: ignore[union-attr]


@pytest.mark.balai_config(ALLOWED_PLUGINS=["sample", "needs-sample", "misspelt"])
@pytest.mark.balai_plugins(Sample(), NeedsSample(), Misspelt())
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["enable", "nope", "--tenant", "kota-a"], "Error: unknown plugin 'nope'"),
        (["enable", "sample", "--tenant", "kota-x"], "Error: unknown tenant 'kota-x'"),
        (["enable", "balai", "--tenant", "kota-a"], "Error: unknown plugin 'balai'"),
        (["enable", "misspelt", "--tenant", "kota-a"], "Error: Plugin misspelt is broken"),
        (["enable", "needs-sample", "--tenant", "kota-a"], "needs these plugins enabled first"),
        (["disable", "nope", "--tenant", "kota-a"], "Error: unknown plugin 'nope'"),
        (["disable", "sample", "--tenant", "kota-x"], "Error: unknown tenant 'kota-x'"),
        (["disable", "balai", "--tenant", "kota-a"], "Error: unknown plugin 'balai'"),
    ],
)
def test_plugins_enable_and_disable_refuse(
    run: Callable[..., Result], tenant: TenantInfo, args: list[str], message: str
) -> None:
    before = counts()
    assert message in refused(run("plugins", *args))
    assert counts() == before


@pytest.mark.balai_config(ALLOWED_PLUGINS=["needs-sample"])
@pytest.mark.balai_plugins(Sample(), NeedsSample())
def test_plugins_enable_refuses_a_plugin_not_allowed(
    run: Callable[..., Result], tenant: TenantInfo
) -> None:
    result = run("plugins", "enable", "sample", "--tenant", "kota-a")
    assert "not allowed" in refused(result)
    assert count(PluginState) == 0


@pytest.mark.balai_plugins(Sample(), NeedsSample())
def test_plugins_disable_refuses_a_plugin_others_need(
    run: Callable[..., Result], enable_plugin: Callable[..., TenantInfo]
) -> None:
    enable_plugin("sample")
    enable_plugin("needs-sample")
    before = counts()
    result = run("plugins", "disable", "sample", "--tenant", "kota-a")
    assert "needed by needs-sample" in refused(result)
    assert counts() == before


# -- users -------------------------------------------------------------------------


def _logs_in(client: FlaskClient, email: str, password: str) -> bool:
    response = client.post("/masuk", data={"email": email, "password": password})
    return response.status_code == 302


def test_users_create_with_prompted_password(
    run: Callable[..., Result], client: FlaskClient, tenant: TenantInfo
) -> None:
    result = run(
        "users", "create", "Siti@Example.test", "--tenant", "kota-a", "--role", "admin",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "created admin siti@example.test in kota-a" in result.output
    assert NEW_PASSWORD not in result.output
    with db.all_tenants() as session:
        user = session.scalars(select(User)).one()
        assert (user.tenant_id, user.role, user.name) == (tenant.id, "admin", "siti")
    assert _logs_in(client, "siti@example.test", NEW_PASSWORD)


def test_users_create_officer_from_stdin(
    run: Callable[..., Result], client: FlaskClient, tenant: TenantInfo
) -> None:
    with db.tenant_session(tenant.id) as session:
        session.add(Department(code="DINKES", name="Dinas Kesehatan"))

    result = run(
        "users", "create", "dinkes@example.test", "--tenant", "kota-a", "--role", "opd",
        "--department", "DINKES", "--name", "Petugas Dinkes", "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    with db.all_tenants() as session:
        user = session.scalars(select(User)).one()
        assert user.department is not None
        assert (user.name, user.department.code) == ("Petugas Dinkes", "DINKES")
    assert _logs_in(client, "dinkes@example.test", NEW_PASSWORD)


def test_users_create_operator_logs_in_on_any_tenant(
    run: Callable[..., Result], client: FlaskClient, other_client: FlaskClient
) -> None:
    result = run(
        "users", "create", "ops@example.test", "--role", "operator", "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.output == "created operator ops@example.test\n"
    assert _logs_in(client, "ops@example.test", NEW_PASSWORD)
    assert _logs_in(other_client, "ops@example.test", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["not-an-email", "--tenant", "kota-a"], NEW_PASSWORD, "not a valid e-mail address"),
        (["a@example", "--tenant", "kota-a"], NEW_PASSWORD, "not a valid e-mail address"),
        (["a@example.test", "--tenant", "kota-a"], "pendek", "at least 10 characters"),
        (["a@example.test", "--tenant", "kota-a"], "aaaaaaaaaaaa", "too easy to guess"),
        (["a@example.test", "--tenant", "kota-a"], "A@Example.test", "not be the e-mail"),
        (["a@example.test", "--tenant", "kota-x"], NEW_PASSWORD, "unknown tenant 'kota-x'"),
        (["a@example.test"], NEW_PASSWORD, "--tenant is required"),
        (["a@example.test", "--role", "operator", "--tenant", "kota-a"], NEW_PASSWORD, "omit"),
        (["old@example.test", "--tenant", "kota-a"], NEW_PASSWORD, "already exists"),
        (["a@example.test", "--tenant", "kota-a", "--department", "X"], NEW_PASSWORD, "Unknown"),
    ],
)
def test_users_create_refuses(
    run: Callable[..., Result],
    login: Callable[..., User],
    client: FlaskClient,
    args: list[str],
    password: str,
    message: str,
) -> None:
    login(client, email="old@example.test")
    before = counts()

    result = run("users", "create", *args, "--password-stdin", input=f"{password}\n")

    assert message in refused(result)
    assert counts() == before


def test_users_create_refuses_an_unknown_role(
    run: Callable[..., Result], tenant: TenantInfo
) -> None:
    result = run("users", "create", "a@example.test", "--tenant", "kota-a", "--role", "raja")
    assert result.exit_code == 2
    assert "'raja' is not one of" in result.stderr
    assert count(User) == 0


def test_users_create_refuses_mismatched_prompted_passwords(
    run: Callable[..., Result], tenant: TenantInfo
) -> None:
    result = run(
        "users", "create", "a@example.test", "--tenant", "kota-a",
        input=f"{NEW_PASSWORD}\nsomething-else-123\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert count(User) == 0


@pytest.mark.balai_plugins(Sample())
def test_plugins_enable_and_disable_are_idempotent(
    run: Callable[..., Result], enable_plugin: Callable[..., TenantInfo]
) -> None:
    assert run("plugins", "disable", "sample", "--tenant", "kota-a").output == (
        "sample is not enabled for kota-a\n"
    )
    assert count(PluginState) == 0
    enable_plugin("sample")
    before = counts()

    result = run("plugins", "enable", "sample", "--tenant", "kota-a")

    assert result.exit_code == 0
    assert result.output == "sample is already enabled for kota-a\n"
    assert counts() == before
