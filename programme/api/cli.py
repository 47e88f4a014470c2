"""`flask --app app create-token EMAIL`."""

from __future__ import annotations

import click
from flask import Flask

from programme.api.tokens import create_token
from programme.audit import acting_as
from programme.auth.services import find_user
from programme.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="cli", help="What the token is for (the API client's name).")
    def create_token_command(email: str, name: str) -> None:
        """Create an API token for an account and print it (once)."""
        user = find_user(db.session, email)
        if user is None or not user.active:
            raise click.ClickException(f"No active account for {email}.")
        with acting_as("cli:create-token"):
            _row, token = create_token(db.session, user, name)
            db.session.commit()
        click.echo(token)
