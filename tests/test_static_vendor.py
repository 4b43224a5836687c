"""Vendored static assets: served locally with their licences, loaded by the layout, charts from a JSON island."""

import json
import re
from html import unescape
from pathlib import Path

from flask import render_template_string

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"


def test_every_vendored_folder_has_a_licence_and_a_readme_row():
    readme = (VENDOR / "README.md").read_text()
    folders = [path for path in VENDOR.iterdir() if path.is_dir()]
    assert {folder.name for folder in folders} >= {"htmx-2.0.11", "chart.js-4.6.1"}
    for folder in folders:
        assert any(path.name.upper().startswith("LICENSE") for path in folder.iterdir()), folder
        assert f"`{folder.name}/`" in readme, folder


def test_vendored_files_are_served_locally(client):
    vendored = ("vendor/htmx-2.0.11/htmx.min.js", "vendor/chart.js-4.6.1/chart.umd.min.js")
    for path in (*vendored, "js/charts.js", "js/live.js"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        assert len(response.data) > (10_000 if path in vendored else 500), path


def test_layout_loads_htmx_without_eval_and_no_cdn(client, auth):
    auth.login("tester")
    html = client.get("/admin/orders").get_data(as_text=True)
    assert '<script src="/static/vendor/htmx-2.0.11/htmx.min.js"></script>' in html
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html).group(1)
    assert json.loads(config) == {
        "allowEval": False,
        "allowScriptTags": False,
        "includeIndicatorStyles": False,
        "selfRequestsOnly": True,
    }
    assert "//cdn" not in html and "unpkg" not in html and "jsdelivr" not in html


def test_chart_macro_writes_its_spec_in_an_attribute_that_cannot_break_out(app):
    spec = {
        "type": "bar",
        "labels": ["</canvas><script>alert(1)</script>", 'b" onload="x'],
        "datasets": [{"label": "sent", "data": [3, 4]}],
        "x_title": "hour",
    }
    with app.test_request_context():
        html = render_template_string(
            '{% from "_charts.html" import chart, chart_scripts %}{{ chart("c1", spec, "Events per hour") }}'
            "{{ chart_scripts() }}",
            spec=spec,
        )
    attribute = re.search(r'<canvas id="c1-canvas" data-chart-spec="([^"]*)"', html).group(1)
    assert json.loads(unescape(attribute)) == spec
    assert "<script>alert" not in html and '" onload="' not in html
    assert 'aria-label="Events per hour' in html
    # the data table beside the chart: one row per label, one column per dataset
    assert re.search(r">sent</th>", html)
    assert '<td class="text-end">4</td>' in html
    assert "/static/vendor/chart.js-4.6.1/chart.umd.min.js" in html
