"""Every page is usable with a keyboard and a screen reader: each form control has a name (a <label for>, a
wrapping <label>, or aria-label), each button has text or aria-label, and no element is taken out of the
tab order or given a positive tabindex."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from common.security.tests.every_page import every_owner_page

SKIPPED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.labelled_ids: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.label_depth = 0
        self.buttons: list[tuple[dict[str, str | None], list[str]]] = []
        self.tabindex: list[str] = []
        self.in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if (tabindex := attributes.get("tabindex") or "").isdigit() and int(tabindex) > 0:
            self.tabindex.append(tag)
        if tag == "label":
            self.label_depth += 1
            if attributes.get("for"):
                self.labelled_ids.add(str(attributes["for"]))
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (attributes.get("type") or "text") in SKIPPED_INPUTS:
                return
            self.controls.append({**attributes, "_tag": tag, "_wrapped": "yes" if self.label_depth else None})
        elif tag == "button":
            self.buttons.append((attributes, []))
            self.in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)
        elif tag == "button":
            self.in_button = False

    def handle_data(self, data: str) -> None:
        if self.in_button and data.strip():
            self.buttons[-1][1].append(data.strip())

    def unnamed(self) -> list[str]:
        missing = [
            f"<{c['_tag']} name={c.get('name')}>"
            for c in self.controls
            if not (c.get("aria-label") or c["_wrapped"] or (c.get("id") and c["id"] in self.labelled_ids))
        ]
        missing += [f"<button {a}>" for a, text in self.buttons if not (text or a.get("aria-label"))]
        return missing


@pytest.mark.django_db(transaction=True)
def test_every_control_on_every_page_has_a_name(django_capture_on_commit_callbacks):
    pages = every_owner_page(django_capture_on_commit_callbacks)
    assert len(pages) >= 28
    problems = {}
    for path, response in pages:
        parser = Controls()
        parser.feed(response.content.decode())
        if parser.unnamed() or parser.tabindex:
            problems[path] = parser.unnamed() + [f"tabindex>0 on {tag}" for tag in parser.tabindex]
    assert problems == {}


def test_the_check_finds_an_unlabelled_control():
    parser = Controls()
    parser.feed(
        '<label for="a">A</label><input id="a"><input name="b"><label><input name="c"> C</label>'
        '<button></button><a href="/" tabindex="3">x</a>'
    )
    assert parser.unnamed() == ["<input name=b>", "<button {}>"]
    assert parser.tabindex == ["a"]
