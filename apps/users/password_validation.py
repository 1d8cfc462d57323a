"""A password validator for what Django's do not catch: long passwords with little in them, like
`aaaaaaaaaaaa`, `abcabcabcabc` or `abcdefghijkl`."""

from __future__ import annotations

import itertools
from typing import Any

from django.core.exceptions import ValidationError


def _repeats_a_shorter_pattern(password: str) -> bool:
    # A string is a repetition of a shorter unit exactly when it occurs inside itself doubled, off the edges.
    return (password + password).find(password, 1) < len(password)


def _longest_run(password: str) -> int:
    """The longest stretch whose characters step by the same +1, -1 or 0 (abcdef, 987654, zzzz)."""
    longest = current = 1
    step: int | None = None
    for previous, char in itertools.pairwise(password):
        delta = ord(char) - ord(previous)
        if delta in (-1, 0, 1) and delta == step:
            current += 1
        elif delta in (-1, 0, 1):
            step, current = delta, 2
        else:
            step, current = None, 1
        longest = max(longest, current)
    return longest


class LowEntropyPasswordValidator:
    """Refuses passwords with few distinct characters, made of one repeated pattern, or mostly one run of
    consecutive characters."""

    def __init__(self, min_unique: int = 6, max_run_share: float = 0.5) -> None:
        self.min_unique = min_unique
        self.max_run_share = max_run_share

    def validate(self, password: str, user: Any = None) -> None:
        folded = password.casefold()
        if len(set(folded)) < self.min_unique:
            raise ValidationError(
                f"This password uses too few different characters; use at least {self.min_unique}.",
                code="password_too_few_characters",
            )
        if _repeats_a_shorter_pattern(folded):
            raise ValidationError("This password repeats a pattern.", code="password_repeated_pattern")
        if _longest_run(folded) > len(folded) * self.max_run_share:
            raise ValidationError("This password is mostly a run of consecutive characters.", code="password_sequence")

    def get_help_text(self) -> str:
        return (
            f"Your password must use at least {self.min_unique} different characters and not be a repeated "
            "pattern or a run of consecutive characters."
        )
