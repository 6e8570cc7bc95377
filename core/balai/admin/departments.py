"""Departments page (*Organisasi Perangkat Daerah*, OPD): list, create and rename.

A department's code is unique in its region (compared without regard to case,
so ``DINKES`` and ``dinkes`` cannot both exist) and never changes once created:
the CLI and imports refer to departments by code.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from balai.admin import audit, bp
from balai.admin.forms import DepartmentForm, DepartmentNameForm
from balai.auth.models import Department, User
from balai.db import db
from balai.forms import validate_form
from balai.permissions import require

Errors = dict[str, list[str]]


def _department_or_404(department_id: int) -> Department:
    found = db.session.scalar(
        select(Department).where(
            Department.id == department_id, Department.tenant_id == g.tenant.id
        )
    )
    if found is None:
        abort(404)
    return found


def _with_user_counts() -> list[tuple[Department, int]]:
    """This region's departments by code, each with how many users belong to it."""
    rows = db.session.execute(
        select(Department, func.count(User.id))
        .outerjoin(User, User.department_id == Department.id)
        .where(Department.tenant_id == g.tenant.id)
        .group_by(Department.id)
        .order_by(func.lower(Department.code))
    ).all()
    return [(department, count) for department, count in rows]


@bp.route("/opd", methods=["GET", "POST"])
@require("balai.manage_users")
def departments() -> Any:
    """The list of departments, with a form to add one."""
    errors: Errors = {}
    if request.method == "POST":
        data, errors = validate_form(DepartmentForm(), request.form)
        if data is not None:
            errors = _create(data)
            if not errors:
                flash(_("Department %(name)s has been added.", name=data["name"]), "ok")
                return redirect(url_for("balai_admin.departments"))
    page = render_template(
        "balai/admin/departments.html",
        departments=_with_user_counts(),
        errors=errors,
        values=request.form,
    )
    return page, 400 if errors else 200


def _create(data: dict[str, Any]) -> Errors:
    """Add the department unless its code is taken in this region."""
    taken = _("The code %(code)s is already used by another department.", code=data["code"])
    exists = db.session.scalar(
        select(Department.id).where(
            func.lower(Department.code) == data["code"].lower(),
            Department.tenant_id == g.tenant.id,
        )
    )
    if exists is not None:
        return {"code": [taken]}
    db.session.add(Department(code=data["code"], name=data["name"]))
    try:
        db.session.commit()
    except IntegrityError:  # added by someone else a moment ago
        db.session.rollback()
        return {"code": [taken]}
    audit("department.created", code=data["code"], name=data["name"])
    return {}


@bp.route("/opd/<int:department_id>", methods=["GET", "POST"])
@require("balai.manage_users")
def edit_department(department_id: int) -> Any:
    """Rename a department; its code stays."""
    department = _department_or_404(department_id)
    errors: Errors = {}
    if request.method == "POST":
        data, errors = validate_form(DepartmentNameForm(), request.form)
        if data is not None:
            old_name, department.name = department.name, data["name"]
            db.session.commit()
            audit("department.renamed", code=department.code, old=old_name, new=department.name)
            flash(_("Department %(code)s has been renamed.", code=department.code), "ok")
            return redirect(url_for("balai_admin.departments"))
    values = request.form if request.method == "POST" else {"name": department.name}
    page = render_template(
        "balai/admin/department_edit.html", department=department, errors=errors, values=values
    )
    return page, 400 if errors else 200
