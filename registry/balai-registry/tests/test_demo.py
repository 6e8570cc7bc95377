"""Sample data for ``balai demo``: a partner and a published plugin pip can install."""

from __future__ import annotations

from balai_registry import demo, plugin


def test_demo_publishes_a_sample_plugin_of_a_partner(client, tenant, enabled, db_session, login):
    plugin.populate_demo(tenant=tenant, session=db_session)
    db_session.commit()
    assert "balai-kebun-warga" in client.get("/registry/").text
    page = client.get("/registry/balai-kebun-warga/").text
    assert "Kebun warga: pendaftaran lahan kebun kota" in page
    assert "<strong>kebun kota</strong>" in page
    [entry] = client.get("/api/v1/registry/plugins").json["items"]
    assert (entry["name"], entry["latest_version"]) == demo.SAMPLE
    login(client, role="admin")
    assert "Kabupaten Lebak" in client.get("/registry/kelola/mitra").text


def test_the_sample_wheel_is_the_same_bytes_every_time():
    assert demo.sample_wheel() == demo.sample_wheel()
