"""``balai jobs ...``, ``balai worker`` and ``balai scheduler``."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from balai.db import db, utcnow
from balai.jobs.declaration import declared, job_named
from balai.jobs.models import JobRun
from balai.jobs.runner import regions_for, run_due, run_now
from balai.tenancy import registry

__all__ = ["jobs_group", "scheduler_command", "worker_command"]


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _needs_redis(app: Flask) -> None:
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set (BALAI_REDIS_URL): without Redis, run "
            "'balai jobs run-due' from cron every minute"
        )


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Background jobs: what is declared, running due ones, running one now."""


def latest_runs() -> dict[tuple[int, str], JobRun]:
    """The latest run of every job in every region, by ``(tenant id, job)``."""
    with db.all_tenants() as session:
        newest = (
            select(func.max(JobRun.id)).group_by(JobRun.tenant_id, JobRun.job).scalar_subquery()
        )
        runs = session.scalars(select(JobRun).where(JobRun.id.in_(newest))).all()
    return {(run.tenant_id, run.job): run for run in runs}


@jobs_group.command("list")
def jobs_list() -> None:
    """List declared jobs with their schedule, and the last run in each region."""
    from balai.cli import print_table

    app = _app()
    jobs = declared(app)
    if not jobs:
        click.echo("no jobs declared")
        return
    last = latest_runs()
    rows = []
    for job in jobs.values():
        schedule = job.schedule or "on demand"
        regions = regions_for(app, job)
        for tenant in regions or [None]:
            run = last.get((tenant.id, job.name)) if tenant else None
            rows.append(
                [
                    job.name,
                    schedule,
                    tenant.slug if tenant else "-",
                    run.slot if run else "-",
                    run.status if run else "never run",
                ]
            )
    print_table(["JOB", "SCHEDULE", "REGION", "LAST SLOT", "STATUS"], rows)


def _echo(outcome: Any) -> None:
    line = f"{outcome.job} {outcome.tenant} {outcome.slot}: {outcome.status}"
    click.echo(line + (f" ({outcome.detail})" if outcome.detail else ""))


@jobs_group.command("run-due")
def jobs_run_due() -> None:
    """Run every due slot of every scheduled job once per region, and every enqueued
    run and retry that is due (with REDIS_URL: enqueue the due slots instead).

    Meant for cron every minute. Running it again, or twice at once, runs nothing twice.
    Exits 1 if a run failed for good (the others still ran).
    """
    try:
        outcomes = run_due(_app(), utcnow())
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {type(exc).__name__}") from exc
    for outcome in outcomes:
        _echo(outcome)
    failed = sorted({f"{o.job} ({o.tenant})" for o in outcomes if o.status == "failed"})
    if failed:
        raise click.ClickException(f"failed: {', '.join(failed)}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--tenant", "slug", required=True, help="The region's slug.")
def jobs_run(name: str, slug: str) -> None:
    """Run the job NAME for one region now, in this process (recorded, not retried)."""
    app = _app()
    tenant = registry(app).by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"unknown tenant {slug!r} (see 'balai tenants list')")
    try:
        job_named(name, app)
        outcome = run_now(app, name, tenant)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    _echo(outcome)
    if outcome.status != "done":
        raise click.ClickException(f"{name} failed for {slug}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker for the deployment's jobs (needs REDIS_URL)."""
    from balai.jobs import queue

    app = _app()
    _needs_redis(app)
    queue.worker(app).work(burst=burst, with_scheduler=True, logging_level="INFO")


@click.command("scheduler")
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds between checks (default: JOBS_SCHEDULER_INTERVAL).",
)
@with_appcontext
def scheduler_command(interval: float | None) -> None:
    """Enqueue every job's due slots, every few seconds, until stopped (needs REDIS_URL)."""
    from balai.jobs.scheduler import run_forever

    app = _app()
    _needs_redis(app)
    every = interval or float(app.config["JOBS_SCHEDULER_INTERVAL"])
    click.echo(f"scheduler: checking every {every:g} s; Ctrl-C stops it")
    try:
        run_forever(app, every)
    except KeyboardInterrupt:
        click.echo("scheduler stopped")
