"""Forms of the sign-in, sign-up and password pages."""

from __future__ import annotations

from typing import Any

from django import forms

from common.core.names import validate_no_control_characters


class LoginForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput)


class SignupForm(forms.Form):
    full_name = forms.CharField(
        max_length=150, required=False, label="Your name", validators=[validate_no_control_characters]
    )
    email = forms.EmailField(max_length=254)
    password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput)
    organization_name = forms.CharField(
        max_length=120, required=False, label="Organization name", validators=[validate_no_control_characters]
    )


class EmailForm(forms.Form):
    email = forms.EmailField(max_length=254)


class SetPasswordForm(forms.Form):
    new_password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput, label="New password")
    new_password_again = forms.CharField(
        max_length=256, strip=False, widget=forms.PasswordInput, label="New password again"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "The two passwords differ.")
        return data


class PasswordChangeForm(SetPasswordForm):
    current_password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput)
    field_order = ["current_password", "new_password", "new_password_again"]


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        max_length=150, required=False, label="Your name", validators=[validate_no_control_characters]
    )
