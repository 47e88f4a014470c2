"""Programme: run a customer-contact transformation programme across a network of sites."""

from __future__ import annotations

from typing import Any

from flask import Flask

from programme.config import INSTANCE, ROOT, Config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    INSTANCE.mkdir(parents=True, exist_ok=True)

    from programme.observability import init_request_logging

    init_request_logging(app)  # first: its timer starts before any other before_request

    from programme.admission import init_write_admission

    init_write_admission(app)  # the time a write waits for its slot is in its duration

    from programme.web.page_cache import init_page_cache

    init_page_cache(app)

    from programme import models  # noqa: F401  (every model registered on the metadata)
    from programme.extensions import babel, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)

    from programme.web.i18n import select_locale, select_timezone

    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(ROOT / "programme" / "translations"),
    )

    from programme.auth.views import init_login

    init_login(app, login_manager)

    from programme.audit.views import bp as audit_bp
    from programme.auth.views import bp as auth_bp
    from programme.network.users import bp as users_bp
    from programme.network.views import bp as network_bp
    from programme.web.views import bp as web_bp

    for blueprint in (web_bp, auth_bp, users_bp, network_bp, audit_bp):
        app.register_blueprint(blueprint)

    from programme.diagnostics.views import bp as diagnostics_bp

    app.register_blueprint(diagnostics_bp)

    from programme.api.account import bp as api_tokens_bp
    from programme.api.views import bp as api_bp
    from programme.kpis.views import bp as kpis_bp

    csrf.exempt(api_bp)  # bearer tokens, no cookies: nothing to forge
    from programme.deployment.views import bp as deployment_bp
    from programme.feedback.views import bp as feedback_bp
    from programme.pilots.views import bp as pilots_bp

    for blueprint in (kpis_bp, feedback_bp, pilots_bp, deployment_bp, api_bp, api_tokens_bp):
        app.register_blueprint(blueprint)

    from programme.value.views import bp as value_bp

    app.register_blueprint(value_bp)

    from programme.reports.export_views import bp as exports_bp
    from programme.reports.impact_views import bp as impact_bp
    from programme.reports.value_views import bp as value_gates_bp
    from programme.reports.value_views import report_bp as value_report_bp
    from programme.reports.views import bp as reports_bp

    for blueprint in (reports_bp, impact_bp, exports_bp, value_gates_bp, value_report_bp):
        app.register_blueprint(blueprint)

    from programme.home.account import bp as account_bp
    from programme.home.views import bp as home_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(account_bp)

    from programme.home.navigation import register_navigation
    from programme.web.errors import register_error_handlers
    from programme.web.layout import register_layout
    from programme.web.security import register_security_headers

    register_error_handlers(app)
    register_layout(app)
    register_navigation(app)
    register_security_headers(app)

    from programme.auth.cli import register_cli as auth_cli
    from programme.demo.cli import register_cli as demo_cli

    auth_cli(app)
    demo_cli(app)

    from programme.feedback.cli import register_cli as feedback_cli

    feedback_cli(app)

    from programme.jobs.cli import register_cli as jobs_cli
    from programme.kpis.cli import register_cli as kpis_cli

    jobs_cli(app)
    kpis_cli(app)

    from programme.api.cli import register_cli as api_cli

    api_cli(app)

    from programme.reports.cli import register_cli as reports_cli

    reports_cli(app)

    from programme.home.cli import register_cli as home_cli

    home_cli(app)
    return app
