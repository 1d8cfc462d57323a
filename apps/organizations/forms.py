"""Forms of the members, invitation and organization settings pages."""

from __future__ import annotations

from django import forms

from apps.organizations.models import Role
from common.core.names import validate_no_control_characters


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class OrganizationRenameForm(forms.Form):
    name = forms.CharField(max_length=120, validators=[validate_no_control_characters])


class OrganizationDeleteForm(forms.Form):
    confirm_slug = forms.CharField(max_length=60, label="Type the organization's slug to confirm")


class AcceptNewUserForm(forms.Form):
    full_name = forms.CharField(
        max_length=150, required=False, label="Your name", validators=[validate_no_control_characters]
    )
    password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput)
