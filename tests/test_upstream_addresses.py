"""The upstream registry's address is the region admin's to choose, so the server
contacts only public addresses there unless the operator allows private ones
(``REGISTRY_ALLOW_PRIVATE_ADDRESSES``): checked when the address is saved and again
on each request, at the address actually connected to."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from upstream import Release, Upstream, make_upstream

from balai.db import db
from balai.testing import serve
from balai.upstream import RegistryClient, UpstreamForbidden, UpstreamInvalid, services
from balai.upstream.client import refused_address
from balai.upstream.models import UpstreamLink
from balai.upstream.transport import PublicOnlyTransport

pytestmark = pytest.mark.balai_config(
    BABEL_DEFAULT_LOCALE="en", REGISTRY_ALLOW_PRIVATE_ADDRESSES=False
)

TOKEN = "balai-reg-kota-a-0123456789"
PUBLIC = "93.184.216.34"
NAME = "registry.example.go.id"


@pytest.fixture
def state() -> Upstream:
    found = Upstream(tokens={TOKEN: {"upload", "feedback", "report"}})
    found.add_plugin("pengumuman", Release("0.1.0", ">=0.1,<0.2"), summary="Announcements")
    return found


@pytest.fixture
def upstream_port(state: Upstream) -> Iterator[int]:
    with serve(make_upstream(state)) as port:
        yield port


@pytest.fixture
def admin(client, login, enable_plugin):
    enable_plugin("pengumuman")
    return login(client, role="admin")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What each name resolves to; change it to rebind a name."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        if isinstance(host, str) and host.endswith(".example.go.id"):
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "2001:db8::1",
        "not an address",
    ],
)
def test_private_local_and_reserved_addresses_are_refused(address):
    assert refused_address(address)


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address):
    assert not refused_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost",
        "http://[::1]:8000",
        "http://[::ffff:127.0.0.1]",
        "http://169.254.169.254/latest",
        "http://2130706433",  # 127.0.0.1 as one number
        f"https://{NAME}",  # resolves to a private address below
        "https://nowhere.example.go.id",  # resolves to nothing
        "gopher://registry.example.org",
        "file:///etc/passwd",
        f"https://user:{TOKEN}@registry.example.org",
    ],
)
def test_saving_a_private_or_odd_address_is_refused_naming_the_field(
    client, admin, tenant, dns, url
):
    dns[NAME] = "10.0.0.5"
    response = client.post("/admin/registri", data={"url": url, "token": TOKEN})
    assert response.status_code == 400
    assert 'id="url-error"' in response.text
    error = response.text.split('id="url-error">', 1)[1].split("</p>", 1)[0]
    assert TOKEN not in error and "user" not in error
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink)) is None


def test_a_public_address_is_saved(client, admin, tenant, dns):
    dns[NAME] = PUBLIC
    response = client.post("/admin/registri", data={"url": f"https://{NAME}", "token": TOKEN})
    assert response.status_code == 302
    with db.tenant_session(tenant.id) as session:
        assert session.scalar(select(UpstreamLink.url)) == f"https://{NAME}"


def test_a_name_rebound_to_a_private_address_is_refused_on_each_request(
    client, admin, tenant, dns, state, upstream_port
):
    dns[NAME] = PUBLIC
    url = f"http://{NAME}:{upstream_port}"
    assert client.post("/admin/registri", data={"url": url, "token": TOKEN}).status_code == 302
    dns[NAME] = "127.0.0.1"  # the stand-in upstream listens there: it must hear nothing
    page = client.get("/admin/evaluasi").text
    assert "private, local or reserved network" in page
    assert TOKEN not in page
    response = client.post(
        "/admin/evaluasi/baru",
        data={"plugin": "pengumuman", "severity": "high", "title": "T", "body": "B"},
    )
    assert response.status_code == 400
    assert "private, local or reserved network" in response.text
    assert state.evaluations == []


@pytest.mark.balai_config(REGISTRY_ALLOW_PRIVATE_ADDRESSES=True)
def test_the_operator_may_allow_private_addresses(client, admin, state, upstream_port):
    url = f"http://127.0.0.1:{upstream_port}"
    assert client.post("/admin/registri", data={"url": url, "token": TOKEN}).status_code == 302
    response = client.post(
        "/admin/evaluasi/baru",
        data={"plugin": "pengumuman", "severity": "high", "title": "T", "body": "B"},
    )
    assert response.status_code == 302
    assert len(state.evaluations) == 1


def test_the_client_connects_to_the_address_it_checked(dns):
    dns[NAME] = PUBLIC
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    transport = httpx.MockTransport(answer)
    with RegistryClient(f"https://{NAME}", TOKEN, transport=transport) as client:
        assert client.plugins() == {"items": []}
        dns[NAME] = "192.168.0.10"
        with pytest.raises(UpstreamForbidden) as refused:
            client.plugins()
    assert TOKEN not in str(refused.value)
    assert len(seen) == 1
    (request,) = seen
    assert request.url.host == PUBLIC
    assert request.headers["Host"] == NAME
    assert request.extensions["sni_hostname"] == NAME


def test_a_transport_refuses_an_address_given_as_a_number(dns):
    with (
        httpx.Client(transport=PublicOnlyTransport(httpx.MockTransport(lambda r: None))) as http,
        pytest.raises(UpstreamForbidden),
    ):
        http.get("http://[::ffff:a9fe:a9fe]/latest/meta-data")


def test_an_upstreams_refusal_does_not_echo_what_it_said(app):
    def answer(request: httpx.Request) -> httpx.Response:
        error = {
            "message": "internal detail: db password hunter2",
            "fields": {"title": ["hunter2 in the title"], "internal": ["hunter2"]},
        }
        return httpx.Response(422, json={"error": error})

    transport = httpx.MockTransport(answer)
    client = RegistryClient("http://127.0.0.1", TOKEN, allow_private=True, transport=transport)
    with client, pytest.raises(UpstreamInvalid) as refused:
        client.send_evaluation({"title": "x"})
    assert "hunter2" not in str(refused.value)
    assert list(refused.value.fields) == ["title"]
    assert "hunter2" not in str(refused.value.fields)


def test_the_background_fetch_refuses_a_private_address_too(app, tenant, dns):
    dns[NAME] = "10.0.0.1"
    with db.tenant_session(tenant.id) as session:
        services.save_link(session, tenant.id, app, url=f"http://{NAME}", token=TOKEN)
    with db.tenant_session(tenant.id) as session, pytest.raises(UpstreamForbidden) as refused:
        services.sync_evaluations(session, tenant.id, app)
    assert TOKEN not in str(refused.value) and NAME not in str(refused.value)


def test_the_deployments_own_address_is_the_operators_choice(
    app, client, admin, tenant, state, upstream_port, monkeypatch
):
    """``REGISTRY_URL`` (and ``--registry``) come from the operator, not a region admin:
    a registry on the deployment's own network stays reachable."""
    monkeypatch.setitem(app.config, "REGISTRY_URL", f"http://127.0.0.1:{upstream_port}")
    assert client.post("/admin/registri", data={"token": TOKEN}).status_code == 302
    response = client.post(
        "/admin/evaluasi/baru",
        data={"plugin": "pengumuman", "severity": "high", "title": "T", "body": "B"},
    )
    assert response.status_code == 302
    assert len(state.evaluations) == 1
