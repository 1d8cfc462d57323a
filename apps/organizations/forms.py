"""Forms of the members, invitation and organization settings pages."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.organizations.actors import ActorKind
from apps.organizations.audit import AuditAction
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


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=120, label="Organization name", validators=[validate_no_control_characters])


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="What")
    actor_kind = forms.ChoiceField(required=False, label="Who (kind)")
    who = forms.CharField(required=False, max_length=120, label="Who (email or key)")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups = sorted({value.split(".", 1)[0] for value in AuditAction.values})
        self.fields["action"].choices = (  # type: ignore[attr-defined]
            [("", "Anything")]
            + [(f"{group}.", f"Any {group.replace('_', ' ')} action") for group in groups]
            + list(AuditAction.choices)
        )
        self.fields["actor_kind"].choices = [("", "Anyone"), *ActorKind.choices]  # type: ignore[attr-defined]
