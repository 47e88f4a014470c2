"""The "API tokens" section of the account: create (shown once) and revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.api import tokens
from programme.api.models import ApiToken
from programme.extensions import db
from programme.kpis.forms import EmptyForm, TokenForm
from programme.web.htmx import render

bp = Blueprint("api_tokens", __name__)


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):
    return render(
        "api/tokens.html",
        form=form,
        tokens=tokens.tokens_of(db.session, current_user),
        new_token=new_token,
        revoke_form=EmptyForm(),
        status=status,
    )


@bp.get("/account/tokens")
@login_required
def token_list():
    return _page(TokenForm(formdata=None))


@bp.post("/account/tokens")
@login_required
def token_create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    _row, token = tokens.create_token(db.session, current_user, form.name.data)
    db.session.commit()
    # Shown once, in this response only (never stored in clear, never in a redirect URL).
    return _page(TokenForm(formdata=None), new_token=token, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(db.session, row)
    db.session.commit()
    flash(_("Token “%(name)s” revoked.", name=row.name), "success")
    return redirect(url_for("api_tokens.token_list"))
