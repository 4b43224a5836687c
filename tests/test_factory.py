"""The application factory and its configuration."""

from app import create_app


def test_config_defaults_and_testing(app, tmp_path):
    assert app.testing
    assert app.config["PIXELPLUS_DISPATCH"] == "worker"
    assert not create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"}).testing


def test_sandbox_can_be_switched_off(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'y.sqlite'}", "SANDBOX_ENABLED": "false"})
    assert not app.config["SANDBOX_ENABLED"]
    assert not any(rule.rule.startswith("/sandbox") for rule in app.url_map.iter_rules())
