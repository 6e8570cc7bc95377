"""Catalogue pages: everything read from the files and the check; search, pages,
empty states, version history, yanking, a README that cannot carry a script."""

from __future__ import annotations

from balai.db import utcnow
from balai_registry import catalogue

REVIEW = ("registry.review_submissions",)


def test_empty_catalogue_says_so(client, enabled):
    page = client.get("/registry/").text
    assert "Belum ada plugin yang diterbitkan." in page


def test_catalogue_lists_what_the_files_say(client, enabled, publish):
    publish()
    publish(version="1.1.0", summary="Kebun warga: lahan dan panen")
    publish(name="balai-theme-sawah", kind="theme", summary="Tema hijau sawah")
    page = client.get("/registry/").text
    assert 'href="/registry/balai-kebun/"' in page
    assert "Kebun warga: lahan dan panen" in page  # the newest release's summary
    assert "Kebun warga: pendaftaran lahan" not in page
    assert "Inti Balai &gt;=0.1,&lt;0.2" in page  # lower bound first
    assert "Apache-2.0" in page
    assert "tema" in page


def test_search_and_its_empty_state(client, enabled, publish):
    publish()
    publish(name="balai-theme-sawah", kind="theme", summary="Tema hijau sawah")
    found = client.get("/registry/?q=SAWAH").text
    assert "balai-theme-sawah" in found and "balai-kebun" not in found
    assert "1 plugin cocok dengan “SAWAH”." in found
    none = client.get("/registry/?q=puskesmas").text
    assert "Tidak ada plugin yang cocok dengan “puskesmas”." in none
    assert 'href="/registry/"' in none


def test_catalogue_pages(client, enabled, publish, monkeypatch):
    monkeypatch.setattr("balai_registry.views.PAGE_SIZE", 2)
    for n in range(5):
        publish(name=f"balai-modul-{n}")
    first = client.get("/registry/").text
    assert "balai-modul-0" in first and "balai-modul-2" not in first
    assert 'href="/registry/?page=2"' in first
    third = client.get("/registry/?page=3").text
    assert "balai-modul-4" in third
    assert client.get("/registry/?page=4").status_code == 404
    assert client.get("/registry/?q=modul&page=2").text.count('class="version"') == 2


def test_plugin_page_shows_metadata_inspection_and_history(client, enabled, publish):
    publish()
    publish(version="1.1.0")
    page = client.get("/registry/balai-kebun/").text
    assert '<h1>balai-kebun <span class="version">1.1.0</span></h1>' in page
    assert "Kebun warga: pendaftaran lahan" in page
    assert "Apache-2.0" in page and "<dd>&gt;=0.1,&lt;0.2</dd>" in page and "&gt;=3.11" in page
    assert '<td data-label="Inti Balai">&gt;=0.1,&lt;0.2</td>' in page  # the version history too
    assert "&lt;0.2,&gt;=0.1" not in page
    assert "<code>kebun.manage_plot</code>" in page
    assert "<code>register_routes</code>" in page
    assert "<code>page_size</code>" in page
    assert "<code>kebun_0002_plots</code>" in page
    assert "Indonesia: 100% diterjemahkan" in page
    assert "Inggris: 75% diterjemahkan" in page
    # The safe way to install: the registry's own wheel, checked by its hash.
    assert "balai plugins install --registry http://kota-a.test balai-kebun" in page
    assert "pip install" not in page
    assert page.index(">1.1.0<") < page.index(">1.0.0<")  # newest version first
    assert "Tarik" not in page  # no maintainer forms for visitors


def test_readme_is_rendered_and_cannot_carry_scripts(client, enabled, publish):
    publish()
    page = client.get("/registry/balai-kebun/").text
    assert "<strong>uji</strong>" in page
    assert "<script>alert" not in page
    assert 'href="javascript:' not in page  # markdown-it refuses the link; text stays


def test_render_readme_sanitises_and_shows_other_formats_as_text():
    html = catalogue.render_readme(
        '# Judul\n\n<img src=x onerror=alert(1)>\n\n[a](https://x.example) <b onclick="x">b</b>',
        "text/markdown; charset=UTF-8",
    )
    assert "<h1>Judul</h1>" in html
    assert "<img" not in html and "<b onclick" not in html  # raw HTML stays text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'rel="noopener noreferrer nofollow"' in html
    text = catalogue.render_readme("Judul\n=====\n\n<script>x</script>", "text/x-rst")
    assert str(text).startswith('<pre class="readme-text">Judul')
    assert "&lt;script&gt;" in text


def test_other_spellings_redirect_and_unknown_plugins_are_404(client, enabled, publish):
    publish()
    assert client.get("/registry/Balai_Kebun/").headers["Location"] == "/registry/balai-kebun/"
    assert client.get("/registry/balai-lain/").status_code == 404
    unknown = client.get("/registry/balai_kebun-1.0.0-py3-none-any.whl/")
    assert unknown.status_code == 404  # not a redirect to a page that is not there
    assert "balai-kebun" not in unknown.text


def test_unpublished_files_are_not_in_the_catalogue(client, enabled, publish, db_session):
    later = publish(version="2.0.0")
    later.status = "rejected"
    db_session.commit()
    assert "balai-kebun" not in client.get("/registry/").text
    assert client.get("/registry/balai-kebun/").status_code == 404


def test_maintainer_yanks_and_takes_it_back(client, enabled, publish, login, stored):
    publish()
    publish(version="1.1.0")
    login(client, role="opd", permissions=REVIEW)
    url = "/registry/kelola/balai-kebun/1.1.0/tarik"
    assert client.post(url, data={"reason": " "}).status_code == 302
    assert all(s.yanked_at is None for s in stored())
    assert client.post(url, data={"reason": "Merusak data"}).status_code == 302
    yanked = [s for s in stored() if s.yanked_at is not None]
    assert [(s.version, s.yanked_reason) for s in yanked] == [("1.1.0", "Merusak data")]
    page = client.get("/registry/balai-kebun/").text
    assert (
        '<span class="badge warn">ditarik</span><br><span class="muted">Alasan: Merusak data'
        in page
    )
    assert "Versi 1.1.0 ditarik." in page  # what was done, not "already"
    assert '<span class="version">1.0.0</span>' in page  # the newest version not yanked
    assert client.post(url, data={"undo": "1"}).status_code == 302
    assert all(s.yanked_at is None for s in stored())
    assert "Penarikan versi 1.1.0 dibatalkan." in client.get("/registry/balai-kebun/").text
    assert (
        client.post("/registry/kelola/balai-kebun/9.9/tarik", data={"reason": "x"}).status_code
        == 404
    )


def test_a_plugin_whose_every_version_is_yanked_is_marked_everywhere(
    client, enabled, publish, stored, db_session
):
    publish()
    publish(name="balai-lain")
    for found in stored():
        if found.project == "balai-kebun":
            found.yanked_at, found.yanked_reason = utcnow(), "Merusak data"
    db_session.commit()
    listing = client.get("/registry/").text
    kebun = listing[listing.index("balai-kebun") : listing.index("balai-lain")]
    assert '<span class="badge warn">ditarik</span>' in kebun
    assert "Semua versi plugin ini ditarik. Alasan: Merusak data" in kebun
    assert "ditarik" not in listing[listing.index("balai-lain") :]
    items = client.get("/api/v1/registry/plugins").json["items"]
    assert [(i["name"], i["yanked"]) for i in items] == [
        ("balai-kebun", True),
        ("balai-lain", False),
    ]


def test_what_the_check_read_is_shown_as_readable_lists(client, enabled, publish, db_session):
    found = publish()
    found.report = {
        "passed": True,
        "checks": [],
        "inspection": {  # the shapes the real check writes
            "hooks": ["register_routes"],
            "permissions": [
                {"name": "kebun.manage_item", "label": "Kelola entri", "roles": ["opd", "admin"]}
            ],
            "settings": [
                {"name": "page_size", "type": "Integer", "default": 20, "label": "Per halaman"}
            ],
            "migrations": [
                {"revision": "kebun_0001", "down_revision": None, "message": "create tables"}
            ],
            "languages": {"id": 100.0, "en": 99.5},
        },
    }
    db_session.commit()
    page = client.get("/registry/balai-kebun/").text
    # Percentages in the reader's number format.
    assert "Indonesia: 100% diterjemahkan" in page and "100.0%" not in page
    assert "Inggris: 99,5% diterjemahkan" in page
    assert "{&#39;" not in page and "{'" not in page  # no Python dict
    assert "<code>kebun.manage_item</code> — Kelola entri" in page
    assert "Diberikan kepada: Petugas OPD, Admin daerah" in page
    assert "<code>page_size</code> — Per halaman" in page and "Bawaan: 20" in page
    assert "<code>kebun_0001</code> — create tables" in page


def test_the_language_switch_names_each_language_in_itself_on_plugin_pages(
    client, enabled, publish
):
    publish()
    page = client.get("/registry/balai-kebun/").text
    footer = page[page.index('<footer class="site">') :]
    assert ">Bahasa Indonesia</button>" in footer and ">English</button>" in footer
    assert "Inggris" not in footer
    assert "Inggris: 75% diterjemahkan" in page  # the plugin's languages, in the reader's


def test_only_maintainers_yank(client, enabled, publish, login):
    publish()
    login(client, role="opd")
    assert (
        client.post("/registry/kelola/balai-kebun/1.0.0/tarik", data={"reason": "x"}).status_code
        == 403
    )


def test_another_region_sees_none_of_it(
    client, other_client, enabled, enable_plugin, other_tenant, publish
):
    publish()
    enable_plugin("registry", tenant=other_tenant)
    assert "balai-kebun" not in other_client.get("/registry/").text
    assert other_client.get("/registry/balai-kebun/").status_code == 404


def test_the_sanitiser_removes_what_html_in_markdown_could_bring(monkeypatch):
    """Raw HTML is off in the Markdown parser; nh3 is the second line should it be on."""
    import markdown_it  # render_readme imports its MarkdownIt when it renders

    real = markdown_it.MarkdownIt
    monkeypatch.setattr(markdown_it, "MarkdownIt", lambda *a, **k: real("commonmark"))
    html = catalogue.render_readme(
        '<img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a><script>y</script>',
        "text/markdown",
    )
    assert "<img" not in html and "javascript:" not in html and "<script" not in html


def test_a_wheel_without_a_summary_is_listed_and_searched(client, enabled, publish, build_dist):
    import zipfile

    built = build_dist("balai-ringkas", summary="")
    with zipfile.ZipFile(built.path) as wheel:
        [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        assert "\nSummary:" not in wheel.read(metadata).decode()
    publish(built)
    assert 'href="/registry/balai-ringkas/"' in client.get("/registry/").text
    assert "balai-ringkas" in client.get("/registry/?q=ringkas").text
    assert client.get("/registry/balai-ringkas/").status_code == 200
    listed = client.get("/api/v1/registry/plugins").json["items"]
    assert [(p["name"], p["summary"]) for p in listed] == [("balai-ringkas", "")]
    assert client.get("/api/v1/registry/plugins/balai-ringkas").status_code == 200


def test_a_name_is_shown_normalised_as_its_links_spell_it(client, enabled, released, db_session):
    """Metadata may spell the name ``balai-pengumuman_sunda``; pages show it as stored."""
    found = released("balai-pengumuman-sunda", "1.0.0")
    found.name = "balai-pengumuman_sunda"
    db_session.commit()
    listing = client.get("/registry/").text
    page = client.get("/registry/balai-pengumuman-sunda/").text
    report = client.get(f"/registry/kiriman/{found.key}").text
    for shown in (listing, page, report):
        assert "balai-pengumuman_sunda" not in shown
    assert '">balai-pengumuman-sunda</a>' in listing
    assert '<h1>balai-pengumuman-sunda <span class="version">1.0.0</span></h1>' in page
    assert "balai-pengumuman-sunda 1.0.0" in report


def test_maintainer_tables_become_cards_on_a_phone(client, enabled, publish, login):
    """Version history, submissions and partners: each cell names its column (shown
    above it on a phone by registry.css), every column has a header."""
    publish()
    login(client, role="admin")
    history = client.get("/registry/balai-kebun/").text
    submissions = client.get("/registry/kelola/").text
    partners = client.get("/registry/kelola/mitra").text
    for page in (history, submissions, partners):
        assert '<table class="stack">' in page
        assert "/registry/static/registry.css" in page
        assert "<th></th>" not in page
    assert '<td class="wrap" data-label="Berkas">' in history
    assert '<th scope="col"><span class="visually-hidden">Tindakan</span></th>' in history
    assert '<td data-label="Pemeriksaan">' in submissions
    with client.get("/registry/static/registry.css") as css:
        assert b"table.stack td[data-label]::before{content:attr(data-label)" in css.data
