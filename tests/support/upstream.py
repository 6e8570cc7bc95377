"""A stand-in upstream registry: the registry contract's HTTP surface, in memory.

Tests of the adopting side (``balai.upstream``) serve it on a live thread
(:func:`balai.testing.serve`) and talk to it over real HTTP, as they would to a Balai
running the registry plugin. It answers the JSON API under ``/api/v1/registry`` and a
simple index under ``/registry/simple/`` (PEP 503, or PEP 691's JSON when asked) for the
wheels it is given.

An evaluation may come with a derived plugin (``POST .../evaluations/derived``,
multipart): the stand-in keeps the file's bytes and reports it as a pending
submission until a test moves it (:meth:`Upstream.check_derived`).

As the registry does, it names plugins in its catalogue, evaluations and usage reports
by their distribution name, normalised (``balai-pengumuman``), and refuses a name that
is not one.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, jsonify, request, send_file
from packaging.utils import canonicalize_name

TIMESTAMP = "2026-03-04T03:00:00+00:00"
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


@dataclass
class Release:
    """One published version of a plugin, maybe with a wheel file."""

    version: str
    requires_core: str = ""
    yanked: bool = False
    wheel: Any = None  # a pathlib.Path
    served: Any = None  # another file its address sends instead (a tampered download)


@dataclass
class Upstream:
    """What the stand-in knows: plugins, partner tokens, and what it was sent."""

    tokens: dict[str, set[str]] = field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: The derived plugins' files by file name, as they were received.
    files: dict[str, bytes] = field(default_factory=dict)
    #: Names another partner holds: a derived plugin under one is refused (422).
    taken: set[str] = field(default_factory=set)
    #: False: an older registry, without the endpoint for derived plugins (404).
    takes_derived: bool = True
    down: bool = False

    def add_plugin(self, name: str, *releases: Release, summary: str = "", kind: str = "plugin"):
        """Publish ``name`` (``pengumuman`` is kept as ``balai-pengumuman``, the name the
        registry's catalogue and index use)."""
        name = _distribution(name if name.startswith("balai-") else f"balai-{name}") or name
        self.plugins[name] = {"summary": summary, "kind": kind, "releases": list(releases)}

    def answer(self, evaluation_id: int, body: str, status: str = "answered") -> None:
        found = self.evaluations[evaluation_id - 1]
        found["replies"].append(
            {"author": "Maintainer", "from_upstream": True, "body": body, "created_at": TIMESTAMP}
        )
        found["status"] = status

    def check_derived(self, evaluation_id: int, status: str, passed: bool | None = None) -> None:
        """Move the derived plugin of an evaluation, as the registry's check and its
        maintainer would (``checked`` with ``passed``, ``published``, ``rejected``)."""
        derived = self.evaluations[evaluation_id - 1]["derived"]
        derived["status"], derived["passed"] = status, passed


def _error(status: int, message: str, fields: dict[str, Any] | None = None) -> Any:
    response = jsonify({"error": {"code": status, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _distribution(name: Any) -> str | None:
    """``name`` normalised (PEP 503) if it is a distribution name (PEP 508), else ``None``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return None
    return str(canonicalize_name(name))


def _latest(releases: list[Release]) -> Release | None:
    shown = [r for r in releases if not r.yanked]
    return shown[-1] if shown else None


def make_upstream(state: Upstream) -> Flask:
    """The stand-in's WSGI app over ``state``."""
    app = Flask("upstream_standin")

    @app.before_request
    def record() -> Any:
        state.requests.append((request.method, request.path))
        if state.down:
            return _error(503, "down for maintenance")
        return None

    def partner(scope: str | None = None) -> str:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        scopes = state.tokens.get(token)
        if scopes is None:
            abort(_error(401, "invalid token"))
        if scope and scope not in scopes:  # as the registry answers: known, not allowed
            abort(_error(403, f"the registry token does not allow {scope}"))
        return token

    def file_url(release: Release) -> dict[str, str]:
        data = release.wheel.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        url = f"{request.host_url}registry/files/{digest}/{release.wheel.name}"
        return {"filename": release.wheel.name, "url": url, "sha256": digest}

    @app.get("/api/v1/registry/plugins")
    def plugins() -> Any:
        query = request.args.get("q", "").lower()
        items = []
        for name, plugin in sorted(state.plugins.items()):
            # As the registry: a plugin whose every version is yanked is listed, marked.
            latest = _latest(plugin["releases"]) or (plugin["releases"] or [None])[-1]
            if latest is None or (query and query not in name + plugin["summary"].lower()):
                continue
            items.append(
                {
                    "name": name,
                    "kind": plugin["kind"],
                    "summary": plugin["summary"],
                    "latest_version": latest.version,
                    "requires_core": latest.requires_core,
                    "yanked": latest.yanked,
                }
            )
        return {"items": items, "page": 1, "per_page": 20, "total": len(items), "pages": 1}

    @app.get("/api/v1/registry/plugins/<name>")
    def plugin(name: str) -> Any:
        name = _distribution(name) or name
        if name not in state.plugins:
            return _error(404, "no such plugin")
        found = state.plugins[name]
        versions = [
            {
                "version": r.version,
                "requires_core": r.requires_core,
                "yanked": r.yanked,
                "published_at": TIMESTAMP,
                "files": [file_url(r)] if r.wheel else [],
            }
            for r in reversed(found["releases"])
        ]
        return {
            "name": name,
            "kind": found["kind"],
            "summary": found["summary"],
            "licence": "Apache-2.0",
            "versions": versions,
        }

    @app.post("/api/v1/registry/evaluations")
    def send_json_evaluation() -> Any:
        return send_evaluation(request.get_json())

    def send_evaluation(data: dict[str, Any]) -> Any:
        token = partner("feedback")
        if not _distribution(data.get("plugin")):
            return _error(422, "invalid", {"plugin": ["Not a distribution name."]})
        data["plugin"] = _distribution(data["plugin"])
        if data.get("severity") not in {"low", "medium", "high", "critical"}:
            return _error(422, "invalid", {"severity": ["Not one of the severities."]})
        if len((data.get("patch") or "").encode()) > 1024 * 1024:
            return _error(422, "invalid", {"patch": ["At most 1 MB."]})
        evaluation_id = len(state.evaluations) + 1
        state.evaluations.append(
            {
                **data,
                "id": evaluation_id,
                "token": token,
                "status": "open",
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "replies": [],
                "derived": None,
            }
        )
        url = f"{request.host_url}registry/{data['plugin']}/evaluasi/{evaluation_id}"
        return {"id": evaluation_id, "status": "open", "url": url}, 201

    @app.post("/api/v1/registry/evaluations/derived")
    def send_with_derived() -> Any:
        if not state.takes_derived:
            return _error(404, "not found")
        token = partner("feedback")
        if "upload" not in state.tokens[token]:
            return _error(403, "the token does not allow upload")
        data = request.form.to_dict()
        sent = request.files.get("derived")
        if sent is None or not sent.filename:
            return _error(422, "invalid", {"derived": ["Attach the file."]})
        content = sent.read()
        if hashlib.sha256(content).hexdigest() != data.pop("sha256_digest", ""):
            return _error(422, "invalid", {"derived": ["The SHA-256 differs."]})
        parts = sent.filename.split("-")
        project = _distribution(parts[0]) or ""
        if not project.startswith("balai-"):
            return _error(422, "invalid", {"derived": ["Only balai- names."]})
        if project in state.taken:
            message = f"The name {project} belongs to another partner region."
            return _error(422, "invalid", {"derived": [message]})
        created = send_evaluation(data)
        if not isinstance(created, tuple):  # refused: nothing is kept
            return created
        answer, _status = created
        state.files[sent.filename] = content
        key = hashlib.sha256(sent.filename.encode()).hexdigest()[:16]
        derived = {
            "filename": sent.filename,
            "project": project,
            "version": parts[1] if len(parts) > 1 else "",
            "status": "pending",
            "passed": None,
            "url": f"{request.host_url}registry/kiriman/{key}",
        }
        state.evaluations[-1]["derived"] = derived
        return {**answer, "derived": derived}, 201

    def shown(evaluation: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in evaluation.items() if k not in {"token", "patch"}}

    def own(evaluation_id: int) -> dict[str, Any]:
        token = partner("feedback")
        if not 0 < evaluation_id <= len(state.evaluations):
            abort(_error(404, "no such evaluation"))
        found = state.evaluations[evaluation_id - 1]
        if found["token"] != token:
            abort(_error(404, "no such evaluation"))
        return found

    @app.get("/api/v1/registry/evaluations")
    def evaluations() -> Any:
        token = partner("feedback")
        items = [shown(e) for e in state.evaluations if e["token"] == token]
        page = int(request.args.get("page", 1))
        size = 2  # small pages, so the client must follow them
        pages = max(1, -(-len(items) // size))
        chosen = items[(page - 1) * size : page * size]
        return {
            "items": chosen,
            "page": page,
            "per_page": size,
            "total": len(items),
            "pages": pages,
        }

    @app.get("/api/v1/registry/evaluations/<int:evaluation_id>")
    def evaluation(evaluation_id: int) -> Any:
        return shown(own(evaluation_id))

    @app.post("/api/v1/registry/evaluations/<int:evaluation_id>/replies")
    def reply(evaluation_id: int) -> Any:
        found = own(evaluation_id)
        body = (request.get_json() or {}).get("body")
        found["replies"].append(
            {"author": "Region", "from_upstream": False, "body": body, "created_at": TIMESTAMP}
        )
        return {"body": body}, 201

    @app.post("/api/v1/registry/reports")
    def report() -> Any:
        token = partner("report")
        data = request.get_json()
        plugins = data.get("plugins") or []
        if not all(_distribution(p.get("name")) for p in plugins):
            return _error(422, "invalid", {"plugins": ["Not a distribution name."]})
        data["plugins"] = [{**p, "name": _distribution(p["name"])} for p in plugins]
        state.reports.append({**data, "token": token})
        return "", 204

    @app.get("/registry/simple/<project>/")
    def simple(project: str) -> Any:
        name = next((n for n in state.plugins if n == canonicalize_name(project)), None)
        if name is None:
            abort(404)
        if "application/vnd.pypi.simple.v1+json" in request.headers.get("Accept", ""):
            found = [
                {**shown, "hashes": {"sha256": shown["sha256"]}, "yanked": release.yanked}
                for release in state.plugins[name]["releases"]
                if release.wheel is not None
                for shown in [file_url(release)]
            ]
            return {"meta": {"api-version": "1.1"}, "name": name, "files": found}
        links = []
        for release in state.plugins[name]["releases"]:
            if release.wheel is None:
                continue
            shown_file = file_url(release)
            yanked = " data-yanked" if release.yanked else ""
            href = html.escape(f"{shown_file['url']}#sha256={shown_file['sha256']}")
            links.append(f'<a href="{href}"{yanked}>{html.escape(release.wheel.name)}</a>')
        return f"<!DOCTYPE html><html><body>{''.join(links)}</body></html>"

    @app.get("/registry/files/<digest>/<filename>")
    def files(digest: str, filename: str) -> Any:
        for plugin in state.plugins.values():
            for release in plugin["releases"]:
                if release.wheel is not None and release.wheel.name == filename:
                    sent = release.served or release.wheel
                    return send_file(sent, mimetype="application/octet-stream")
        abort(404)

    return app
