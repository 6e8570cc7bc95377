"""The form and table macros of ``_macros.html`` that plugins' pages share."""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask import Flask, render_template_string

SELECT = '{% from "_macros.html" import select %}'
TABLE = '{% from "_macros.html" import table %}'


def _render(app: Flask, template: str, **context: object) -> str:
    with app.test_request_context():
        return render_template_string(template, **context)


def _squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_a_select_has_its_label_options_and_the_chosen_one(app: Flask) -> None:
    html = _render(
        app,
        SELECT + "{{ select('duty', 'Duty', {}, options, value='desk', required=true,"
        " blank='Choose', help='Who does what.') }}",
        options=[("desk", "Registration desk"), ("clinician", "Clinician")],
    )
    html = _squeeze(html)
    assert '<label for="f-duty">Duty <span aria-hidden="true">*</span></label>' in html
    assert '<select id="f-duty" name="duty" required' in html
    assert '<option value="">Choose</option>' in html
    assert '<option value="desk" selected>Registration desk</option>' in html
    assert '<option value="clinician">Clinician</option>' in html
    assert '<p class="help">Who does what.</p>' in html
    assert "aria-invalid" not in html


def test_a_select_names_its_error_for_screen_readers(app: Flask) -> None:
    errors = {"department_id": ["Choose a department from the list."]}
    html = _squeeze(
        _render(
            app,
            SELECT + "{{ select('department_id', 'Department', errors, rows, value=2,"
            " option_attrs=('id', 'name')) }}",
            errors=errors,
            rows=[SimpleNamespace(id=1, name="Dinas A"), SimpleNamespace(id=2, name="Dinas B")],
        )
    )
    assert '<div class="field invalid">' in html
    assert 'aria-invalid="true" aria-describedby="department_id-error"' in html
    assert '<p class="error" id="department_id-error">Choose a department' in html
    assert '<option value="2" selected>Dinas B</option>' in html
    assert "required" not in html
    assert '<option value="">' not in html  # no blank option unless asked


def test_a_select_escapes_labels_and_values(app: Flask) -> None:
    html = _render(app, SELECT + "{{ select('x', 'X', {}, [('<a>', '<b>')]) }}")
    assert '<option value="&lt;a&gt;">&lt;b&gt;</option>' in html


def test_a_table_writes_headers_and_a_row_per_item(app: Flask) -> None:
    template = (
        TABLE + "{% call(row) table(['Code', 'Name', ''], rows) %}"
        "<td>{{ row.code }}</td><td>{{ row.name }}</td><td></td>{% endcall %}"
    )
    rows = [SimpleNamespace(code="A", name="Alpha"), SimpleNamespace(code="B", name="<Beta>")]
    html = _squeeze(_render(app, template, rows=rows))
    assert '<div class="table-wrap"> <table>' in html
    assert (
        '<thead><tr><th scope="col">Code</th><th scope="col">Name</th><th scope="col"></th>'
        "</tr></thead>"
    ) in html
    assert "<tr><td>A</td><td>Alpha</td><td></td></tr>" in html
    assert "<td>&lt;Beta&gt;</td>" in html


def test_an_empty_table_says_so_or_nothing(app: Flask) -> None:
    template = TABLE + "{% call(row) table(['Code'], [], empty=empty) %}<td></td>{% endcall %}"
    assert '<p class="empty">Nothing yet.</p>' in _render(app, template, empty="Nothing yet.")
    assert "<table" not in _render(app, template, empty="")
