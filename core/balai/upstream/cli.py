"""The ``balai`` commands that talk to a registry: ``plugins search|info|install|upgrade``
and ``registry report``. :mod:`balai.cli` adds them to its groups."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from flask_babel import Babel
from flask_babel import gettext as _

from balai import __version__
from balai.app import instance_path
from balai.config import read_settings
from balai.db import db
from balai.i18n import CORE_TRANSLATIONS
from balai.tenancy import TenantInfo, registry
from balai.upstream import install, services
from balai.upstream.client import (
    RegistryClient,
    UpstreamError,
    UpstreamForbidden,
    UpstreamNotFound,
    check_url,
)
from balai.upstream.report import usage_report

__all__ = ["PLUGIN_COMMANDS", "registry_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def registry_option(command: F) -> F:
    """``--registry URL``, defaulting to the deployment's ``REGISTRY_URL``."""
    return click.option(
        "--registry",
        "registry_url",
        metavar="URL",
        help="The registry's address (default: the REGISTRY_URL setting).",
    )(command)


def _registry_setting() -> Any:
    """``REGISTRY_URL``: the app's (or, for the commands that need no instance, the
    bare app's of :func:`speaking`, read from the instance folder and the environment)."""
    if has_app_context():
        return _app().config.get("REGISTRY_URL")
    return read_settings(instance_path()).get("REGISTRY_URL")


def speaking(command: F) -> F:
    """Run ``command`` (one that needs no instance) in the deployment's default
    language: without an app, in a bare one holding the instance's settings as
    :func:`read_settings` finds them, which only translates the core's messages into
    its ``BABEL_DEFAULT_LOCALE`` (Indonesian unless it says otherwise)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return command(*args, **kwargs)
        bare = Flask(__name__)
        bare.config.from_mapping(read_settings(instance_path()))  # unchecked: none needed
        bare.config["BABEL_DEFAULT_LOCALE"] = str(bare.config.get("BABEL_DEFAULT_LOCALE") or "id")
        Babel(bare, default_translation_directories=str(CORE_TRANSLATIONS))
        with bare.app_context():
            return command(*args, **kwargs)

    return run  # type: ignore[return-value]


def _registry(given: str | None) -> str:
    url = given or _registry_setting()
    if not url:
        raise click.ClickException(
            _(
                "no registry: give --registry URL, or set REGISTRY_URL in the instance's "
                "balai.cfg or BALAI_REGISTRY_URL in the environment"
            )
        )
    try:
        return check_url(str(url))
    except ValueError:
        raise click.ClickException(_("%(url)r is not an http(s) address", url=url)) from None


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def _fetch(url: str, call: Callable[[RegistryClient], Any]) -> Any:
    """``call`` on a client of ``url`` (the operator's: ``--registry`` or
    ``REGISTRY_URL``); a registry that fails is one ``Error:`` line."""
    try:
        with RegistryClient(url, allow_private=True) as client:
            return call(client)
    except UpstreamError as exc:
        raise click.ClickException(str(exc)) from exc


def _fetch_plugin(url: str, name: str) -> Any:
    """The registry's entry of the plugin ``name``; one it does not list is named."""
    distribution = install.distribution_of(name)
    try:
        with RegistryClient(url, allow_private=True) as client:
            return client.plugin(distribution)
    except UpstreamNotFound as exc:
        raise click.ClickException(
            _(
                "the registry at %(url)s has no plugin %(dist)s: "
                "see 'balai plugins search %(name)s --registry %(url)s'",
                url=url,
                dist=distribution,
                name=name,
            )
        ) from exc
    except UpstreamError as exc:
        raise click.ClickException(str(exc)) from exc


def _fits(requires_core: str, yanked: bool = False) -> str:
    if yanked:
        return _("no (yanked)")
    return _("yes") if install.fits_core(requires_core) else _("no")


def _fits_header() -> str:
    return _("FITS %(version)s", version=__version__)


# -- plugins search / info -----------------------------------------------------------


@click.command("search")
@click.argument("query", required=False, default="")
@registry_option
@speaking
def plugins_search(query: str, registry_url: str | None) -> None:
    """Find plugins on the registry by name or summary (needs no instance)."""
    answer = _fetch(_registry(registry_url), lambda c: c.plugins(query))
    items = answer.get("items") or []
    if not items:
        click.echo(_("no plugin found"))
        return
    rows = [
        [
            str(i.get("name")),
            str(i.get("latest_version") or "-"),
            str(i.get("requires_core") or _("any")),
            _fits(str(i.get("requires_core") or ""), bool(i.get("yanked"))),
            str(i.get("summary") or ""),
        ]
        for i in items
    ]
    _print_table([_("NAME"), _("LATEST"), _("CORE"), _fits_header(), _("SUMMARY")], rows)
    total = answer.get("total")
    if isinstance(total, int) and total > len(items):
        click.echo(
            _("(%(shown)d of %(total)d shown: narrow the search)", shown=len(items), total=total)
        )


@click.command("info")
@click.argument("name")
@registry_option
@speaking
def plugins_info(name: str, registry_url: str | None) -> None:
    """Show a plugin's versions on the registry and which fit this core (needs no
    instance)."""
    plugin = _fetch_plugin(_registry(registry_url), name)
    kind = _("theme") if plugin.get("kind") == "theme" else _("plugin")
    click.echo(f"{plugin.get('name', name)} ({kind})")
    for label, key in ((_("summary"), "summary"), (_("licence"), "licence")):
        if plugin.get(key):
            click.echo(f"{label}: {plugin[key]}")
    installed = install.installed_version(name)
    click.echo(_("installed: %(version)s", version=installed or _("no")))
    rows = [
        [
            str(r.version),
            r.requires_core or _("any"),
            _fits(r.requires_core),
            _("yanked") if r.yanked else "",
        ]
        for r in install.releases_of(plugin)
    ]
    if rows:
        _print_table([_("VERSION"), _("CORE"), _fits_header(), ""], rows)


# -- plugins install / upgrade -------------------------------------------------------


def _install(registry_url: str, name: str, release: install.Release, extra: Sequence[str]) -> None:
    dist, version = install.distribution_of(name), release.version
    click.echo(
        _(
            "installing %(dist)s %(version)s from %(url)s",
            dist=dist,
            version=version,
            url=registry_url,
        )
    )
    if release.yanked:
        click.echo(
            _("note: %(name)s %(version)s is yanked on the registry", name=name, version=version)
        )
    page, answer = _fetch(registry_url, lambda c: c.index_page(dist))
    try:
        file = install.choose_file(name, release, install.index_files(answer, page))
    except install.Incompatible as exc:
        raise click.ClickException(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="balai-install-") as folder:
        try:
            path = _fetch(registry_url, lambda c: install.fetch_file(c, file, Path(folder)))
        except install.Tampered as exc:
            raise click.ClickException(str(exc)) from exc
        if install.pip_install(registry_url, name, path, file.sha256, extra_index_urls=extra):
            raise click.ClickException(
                _("pip could not install %(name)s %(version)s", name=name, version=version)
            )
    migrated = install.migrate(_app().instance_path)
    if migrated.returncode == 0:
        click.echo(_("database is up to date"))
    else:
        click.echo(migrated.stdout, nl=False)
        raise click.ClickException(
            _(
                "%(name)s %(version)s is installed, but its migrations failed: "
                "see above, then run 'balai db upgrade'",
                name=name,
                version=version,
            )
        )


def _extra_index_option(command: F) -> F:
    return click.option(
        "--extra-index-url",
        "extra",
        multiple=True,
        metavar="URL",
        help=(
            "Another index for the plugin's own dependencies (e.g. PyPI), never for the "
            "plugin itself; repeatable."
        ),
    )(command)


@click.command("install")
@with_appcontext
@click.argument("name")
@click.option("--version", "wanted", metavar="VERSION", help="This version, not the newest.")
@registry_option
@_extra_index_option
def plugins_install(
    name: str, wanted: str | None, registry_url: str | None, extra: tuple[str, ...]
) -> None:
    """Install a plugin from the registry: the newest version that fits this core."""
    url = _registry(registry_url)
    present = install.installed_version(name)
    if present and wanted is None:
        click.echo(
            _(
                "%(name)s %(version)s is installed already: 'balai plugins upgrade %(name)s'",
                name=name,
                version=present,
            )
        )
        return
    plugin = _fetch_plugin(url, name)
    try:
        release = install.choose_release(name, plugin, wanted=wanted)
    except install.Incompatible as exc:
        raise click.ClickException(str(exc)) from exc
    assert release is not None  # without newer_than there is always one, or a refusal
    _install(url, name, release, extra)
    click.echo(
        _(
            "%(name)s %(version)s installed; switch it on per region with "
            "'balai plugins enable %(name)s --tenant SLUG'",
            name=name,
            version=release.version,
        )
    )


@click.command("upgrade")
@with_appcontext
@click.argument("name")
@registry_option
@_extra_index_option
def plugins_upgrade(name: str, registry_url: str | None, extra: tuple[str, ...]) -> None:
    """Upgrade an installed plugin to the newest version that fits this core."""
    url = _registry(registry_url)
    present = install.installed_version(name)
    if present is None:
        raise click.ClickException(
            _("%(name)s is not installed: 'balai plugins install %(name)s'", name=name)
        )
    plugin = _fetch_plugin(url, name)
    try:
        release = install.choose_release(name, plugin, newer_than=present)
    except install.Incompatible as exc:
        raise click.ClickException(str(exc)) from exc
    if release is None:
        newest = next((r for r in install.releases_of(plugin) if not r.yanked), None)
        note = ""
        if newest is not None and str(newest.version) != present:
            note = f" ({install.upgrade_note(name, newest)})"
        newest_here = _(
            "%(name)s %(version)s is the newest version for core %(core)s",
            name=name,
            version=present,
            core=__version__,
        )
        click.echo(f"{newest_here}{note}")
        return
    _install(url, name, release, extra)
    click.echo(
        _(
            "%(name)s upgraded from %(old)s to %(new)s",
            name=name,
            old=present,
            new=release.version,
        )
    )


PLUGIN_COMMANDS = (plugins_search, plugins_info, plugins_install, plugins_upgrade)


# -- registry report -----------------------------------------------------------------


@click.group("registry")
def registry_group() -> None:
    """The upstream registry: the opt-in usage report."""


def _regions(slugs: Sequence[str]) -> list[TenantInfo]:
    if not slugs:
        return list(registry().all())
    chosen = []
    for slug in slugs:
        tenant = registry().by_slug(slug)
        if tenant is None:
            raise click.ClickException(
                _("unknown tenant %(slug)r (see 'balai tenants list')", slug=slug)
            )
        chosen.append(tenant)
    return chosen


def _target(
    tenant: TenantInfo, url: str | None, token: str | None
) -> tuple[str | None, str | None]:
    """The registry address and token to report ``tenant`` with: the options, else the
    region's own (``/admin/registri``), else the deployment's address."""
    with db.tenant_session(tenant.id) as session:
        link = services.link_of(session)
        return (
            url or services.upstream_url(link, _app()),
            token or services.token_of(link, tenant.id, _app()),
        )


@registry_group.command("report")
@with_appcontext
@registry_option
@click.option(
    "--token",
    envvar="BALAI_REGISTRY_TOKEN",
    metavar="TOKEN",
    help="The registry token (default: each region's own; or BALAI_REGISTRY_TOKEN).",
)
@click.option("--tenant", "slugs", multiple=True, help="Only this region (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the reports instead of sending them.")
def registry_report(
    registry_url: str | None, token: str | None, slugs: tuple[str, ...], dry_run: bool
) -> None:
    """Send the opt-in usage report of each region: this installation's random id, the
    region's name, the core version and its enabled plugins with their versions."""
    url = _registry(registry_url) if registry_url else None
    sent, failed = 0, []
    for tenant in _regions(slugs):
        report = usage_report(_app(), tenant)
        target, secret = _target(tenant, url, token)
        if not target or not secret:
            click.echo(_("skipped %(slug)s: no registry address or token", slug=tenant.slug))
            continue
        if dry_run:
            click.echo(json.dumps({"registry": target, **report}, indent=2))
            continue
        try:
            # --registry is the operator's; a region's own address its admin's.
            allow = bool(url) or services.allow_private(_app(), target)
            with RegistryClient(target, secret, allow_private=allow) as client:
                client.report(report)
        except UpstreamForbidden:
            failed.append(tenant.slug)
            click.echo(f"Error: {_private_refusal(tenant.slug, target)}", err=True)
            continue
        except UpstreamError as exc:
            failed.append(tenant.slug)
            click.echo(f"Error: {tenant.slug}: {exc}", err=True)
            continue
        click.echo(_("reported %(slug)s to %(url)s", slug=tenant.slug, url=target))
        sent += 1
    if failed:
        raise click.ClickException(
            _("not reported: %(slugs)s (see above)", slugs=", ".join(failed))
        )
    if not dry_run and not sent:
        raise click.ClickException(
            _(
                "nothing was reported: give --token (and --registry), or save each region's "
                "token on its Upstream registry page"
            )
        )


def _private_refusal(slug: str, url: str) -> str:
    """What the operator can do when a region's saved address is a private one."""
    return _(
        "%(slug)s: %(url)s leads to a private, local or reserved network, which "
        "this installation does not contact for a region. If the registry is on your own "
        "network, set REGISTRY_ALLOW_PRIVATE_ADDRESSES = True in balai.cfg (or "
        "BALAI_REGISTRY_ALLOW_PRIVATE_ADDRESSES=true), or give the address with --registry.",
        slug=slug,
        url=url,
    )
