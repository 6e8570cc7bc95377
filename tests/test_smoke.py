def test_home_page_of_a_tenant(client, tenant):
    response = client.get("/")
    assert response.status_code == 200
    assert "Kota A" in response.get_data(as_text=True)


def test_unknown_host_is_refused(app, tenant):
    response = app.test_client().get("/", headers={"Host": "nowhere.test"})
    assert response.status_code == 404


def test_admin_can_open_plugins_page(client, login):
    login(client, role="admin")
    response = client.get("/admin/plugin")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_api_me(client, login):
    login(client, role="opd")
    response = client.get("/api/v1/me")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.json["role"] == "opd"
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_visitor_pages_set_no_session_cookie(client, tenant):
    """Light pages for visitors: nothing to store, so shared caches can keep them."""
    for path in ("/", "/cari?q=jalan", "/peta", "/tidak-ada"):
        assert "Set-Cookie" not in client.get(path).headers, path


def test_language_switch_by_link_sets_only_a_preference(client, tenant):
    response = client.get("/bahasa", query_string={"lang": "en", "next": "/peta"})
    assert response.status_code == 302 and response.headers["Location"] == "/peta"
    assert response.headers["Set-Cookie"].startswith("balai_lang=en")
    assert "Map of" in client.get("/peta").text
    assert client.get("/bahasa", query_string={"lang": "xx"}).status_code == 302
