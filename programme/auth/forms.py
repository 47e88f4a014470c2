"""Forms for logging in, the account page and user administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from programme.auth.roles import ROLE_LABELS
from programme.web.forms import BLANK_LABEL

LANGUAGE_CHOICES = [("fr", "Français"), ("en", "English")]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class LanguageForm(FlaskForm):
    language = SelectField(_l("Interface language"), choices=LANGUAGE_CHOICES)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=10, max=200)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords differ.")),
        ],
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (logout, log out everywhere)."""


def _role_choices():
    # No default role: an account created without a choice would otherwise be an admin.
    return [("", BLANK_LABEL)] + [(role, label) for role, label in ROLE_LABELS.items()]


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(
        _l("Role"),
        choices=_role_choices,
        validators=[InputRequired(message=_l("Choose a role."))],
    )
    language = SelectField(_l("Language"), choices=[("", "—"), *LANGUAGE_CHOICES])
    site_id = SelectField(_l("Site (site manager's perimeter)"), coerce=str, validate_choice=False)
    region_id = SelectField(
        _l("Region (regional manager's perimeter)"), coerce=str, validate_choice=False
    )
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=10, max=200)],
        description=_l("At least 10 characters. Leave empty to keep the current password."),
    )
    version = HiddenField()
