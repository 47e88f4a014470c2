"""Error pages in the application's look."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    messages = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("You do not have access to this page or action."),
        404: lambda: _("This page does not exist."),
        405: lambda: _("This action is not allowed here."),
        409: lambda: _("Someone else changed this record in the meantime."),
        413: lambda: _("The file is too large."),
        429: lambda: _("Too many attempts. Wait a few minutes and try again."),
        500: lambda: _("Something went wrong on our side. The error has been logged."),
    }

    def page(status: int, message: str):
        if _wants_json():
            return jsonify({"error": message}), status
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return page(
            400, _("Your form expired or was sent from elsewhere. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        message = messages.get(error.code, lambda: error.description)()
        body, status = page(error.code, message)
        valid_methods = getattr(error, "valid_methods", None)
        if error.code == 405 and valid_methods:  # RFC 9110: a 405 names the allowed methods
            return body, status, {"Allow": ", ".join(sorted(valid_methods))}
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("Unhandled error")
        from programme.extensions import db

        db.session.rollback()
        return page(500, messages[500]())

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError):
        # The database is locked past the busy timeout (SQLite), restarting or out of
        # reach (PostgreSQL): nothing was written (the transaction is rolled back), and
        # trying again shortly is the right thing to do. SQLite also reports some bugs
        # (a missing column) as OperationalError: those stay 500s.
        reason = str(error.orig)
        if type(error.orig).__module__.startswith("sqlite3") and not (
            "locked" in reason or "busy" in reason
        ):
            return _unexpected(error)
        app.logger.warning("database unavailable: %s", reason)
        from programme.extensions import db

        db.session.rollback()
        message = _("The database is busy or unavailable. Try again in a moment.")
        try:
            response = app.make_response(page(503, message))
        except Exception:  # the page itself needs the database (the signed-in user)
            response = app.make_response((message, 503, {"Content-Type": "text/plain"}))
        response.headers["Retry-After"] = "2"
        return response
