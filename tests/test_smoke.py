def test_home_page_of_a_tenant(client, tenant):
    response = client.get("/")
    assert response.status_code == 200
    assert "Kota A" in response.get_data(as_text=True)


def test_unknown_host_is_refused(app, tenant):
    response = app.test_client().get("/", headers={"Host": "nowhere.test"})
    assert response.status_code == 404
