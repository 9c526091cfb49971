"""Reading a dashboard page as assistive technology would: which form controls
have no accessible name, the page's title, breadcrumbs and headings.

Stdlib HTML parsing only; a control is named by ``aria-label``,
``aria-labelledby``, ``title``, a ``<label for=…>`` or an enclosing ``<label>``
(the rules of the HTML accessible-name computation that Django's forms use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

CONTROLS = {"input", "select", "textarea"}
UNNAMED_TYPES = {"hidden", "submit", "button", "reset", "image"}
VOID = {"input", "img", "br", "hr", "meta", "link", "source", "col", "area", "wbr"}


@dataclass
class Page:
    title: str = ""
    controls: list[dict] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    breadcrumbs: str = ""
    h1: list[str] = field(default_factory=list)
    buttons: list[dict] = field(default_factory=list)
    favicon: bool = False

    def unlabelled(self) -> list[str]:
        """The controls nobody can name, as ``tag#id[name]``."""
        return [
            f"{c['tag']}#{c.get('id', '')}[{c.get('name', '')}]"
            for c in self.controls
            if not (
                c.get("aria-label")
                or c.get("aria-labelledby")
                or c.get("title")
                or c["in_label"]
                or (c.get("id") and c["id"] in self.label_for)
            )
        ]

    def nameless_buttons(self) -> list[str]:
        return [
            str(b.get("attrs"))
            for b in self.buttons
            if not (b["text"].strip() or b["attrs"].get("aria-label"))
        ]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[str] = []
        self.labels = 0
        self.capture: list[list] = []  # [kind, text parts, depth]

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if tag == "link" and "icon" in a.get("rel", "").split():
            self.page.favicon = True
        if tag == "label":
            self.labels += 1
            if a.get("for"):
                self.page.label_for.add(a["for"])
        if tag in CONTROLS and a.get("type", "text") not in UNNAMED_TYPES:
            self.page.controls.append({"tag": tag, **a, "in_label": self.labels > 0})
        if tag == "button":
            self.page.buttons.append({"attrs": a, "text": ""})
            self.capture.append(["button", [], len(self.stack)])
        if tag == "title" and not self.page.title and "svg" not in self.stack:
            self.capture.append(["title", [], len(self.stack)])
        if tag == "h1":
            self.capture.append(["h1", [], len(self.stack)])
        if tag == "div" and "breadcrumbs" in a.get("class", "").split():
            self.capture.append(["breadcrumbs", [], len(self.stack)])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "label":
            self.labels = max(self.labels - 1, 0)
        if tag in VOID:
            return
        while self.stack:
            opened = self.stack.pop()
            if opened == tag:
                break
        depth = len(self.stack)
        while self.capture and self.capture[-1][2] >= depth:
            kind, parts, _ = self.capture.pop()
            text = " ".join("".join(parts).split())
            if kind == "button":
                self.page.buttons[-1]["text"] = text
            elif kind == "h1":
                self.page.h1.append(text)
            else:
                setattr(self.page, kind, text)

    def handle_data(self, data):
        for entry in self.capture:
            entry[1].append(data)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return reader.page
