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
