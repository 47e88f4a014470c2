"""`flask --app app create-user EMAIL --role ROLE` and friends."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask_babel import force_locale

from programme.audit import acting_as
from programme.auth import services
from programme.auth.roles import ROLES
from programme.errors import Invalid
from programme.extensions import db


def _read_password() -> str:
    if sys.stdin is not None and not sys.stdin.isatty():
        # Piped input: the password on the first line (a second, confirming line is optional).
        lines = sys.stdin.read().splitlines()
        if not lines:
            raise click.ClickException("No password on standard input.")
        if len(lines) > 1 and lines[1] and lines[1] != lines[0]:
            raise click.ClickException("The two passwords differ.")
        return lines[0]
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def register_cli(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option(
        "--role",
        required=True,
        help="One of: " + ", ".join(ROLES),
    )
    @click.option("--name", default="", help="Display name.")
    def create_user(email: str, role: str, name: str) -> None:
        """Create an account; the password is prompted twice (or read from stdin)."""
        password = _read_password()
        try:
            with force_locale("en"), acting_as("cli:create-user"):
                user = services.create_user(db.session, email, role, password, name=name)
                db.session.commit()
        except Invalid as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        click.echo(f"Created {user.email} ({user.role}).")

    @app.cli.command("set-password")
    @click.argument("email")
    def set_password(email: str) -> None:
        """Set an account's password (prompted twice, or read from stdin)."""
        user = services.find_user(db.session, email)
        if user is None:
            raise click.ClickException(f"No account for {email}.")
        password = _read_password()
        try:
            with force_locale("en"):
                services.check_password_strength(password, user.email)
        except Invalid as error:
            raise click.ClickException(str(error)) from None
        with acting_as("cli:set-password"):
            services.set_password(user, password)
            db.session.commit()
        click.echo(f"Password changed for {user.email}; their sessions are logged out.")
