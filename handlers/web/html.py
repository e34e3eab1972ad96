"""HTML for the web app: one escaping helper, one page layout, small form widgets.

Every user-facing word comes from the catalog (domain ``web.po``); every value that a
person typed is escaped here, once, by :func:`esc` (catalog values are escaped by the
catalog itself and arrive as :class:`~bot.catalog.Html`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass

from bot import catalog
from bot.catalog import Html

PAGES = ("report", "leads", "weekly", "dashboard")


def esc(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[str]) -> Html:
    return Html("".join(parts))


@dataclass(frozen=True)
class PageContext:
    """What every page needs to draw its frame: who, in which language, the CSRF token."""

    locale: str
    name: str
    csrf: str
    leader: bool
    member: bool = True

    def t(self, key: str, /, **values: object) -> Html:
        return catalog.t(key, self.locale, **values)

    def p(self, key: str, /, **values: object) -> str:
        return catalog.plain(key, self.locale, **values)


def layout(ctx: PageContext, page: str, title: str, body: str, *, script: bool = True) -> str:
    """The frame: a top bar, the page's body, a bottom tab bar sized for a thumb."""
    lang = "zh-CN" if ctx.locale.startswith("zh") else "en"
    tabs = join(
        f'<a href="/app/{name}" class="tab{" on" if name == page else ""}">'
        f"{ctx.t(f'web.tab.{name}')}</a>"
        for name in PAGES
        if name != "dashboard" or ctx.leader
    )
    js = '<script src="/app/static/app.js" defer></script>' if script else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover">'
        f'<meta name="csrf-token" content="{esc(ctx.csrf)}">'
        f"<title>{esc(title)}</title>"
        '<link rel="stylesheet" href="/app/static/app.css">'
        f"{js}</head><body>"
        f'<header><h1>{esc(title)}</h1><span class="who">{esc(ctx.name)}</span></header>'
        f"<main>{body}</main>"
        f'<nav class="tabs">{tabs}</nav>'
        "</body></html>"
    )


def bare_page(
    locale: str, title: str, body: str, *, script: bool = True, before: tuple[str, ...] = ()
) -> str:
    """A page for someone not signed in: no tabs, no data. ``before``: scripts our own
    needs loaded first (DingTalk's JSAPI inside DingTalk)."""
    lang = "zh-CN" if locale.startswith("zh") else "en"
    js = "".join(f'<script src="{esc(url)}"></script>' for url in before)
    js += '<script src="/app/static/app.js" defer></script>' if script else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{esc(title)}</title><link rel="stylesheet" href="/app/static/app.css">{js}'
        f"</head><body><main>{body}</main></body></html>"
    )


def field_row(
    field_id: str, label: str, control: str, *, hint: str = "", required: bool = False
) -> str:
    star = '<span class="req">*</span>' if required else ""
    hint_html = f'<div class="hint" id="{field_id}-hint">{hint}</div>' if hint else ""
    return (
        f'<div class="field" data-field="{field_id}"><label for="{field_id}">{label}{star}</label>'
        f'{control}{hint_html}<div class="err" id="{field_id}-err" role="alert"></div></div>'
    )


def text_input(
    name: str,
    value: str = "",
    *,
    required: bool = False,
    maxlength: int = 0,
    inputmode: str = "",
    attrs: str = "",
) -> str:
    extra = f' maxlength="{maxlength}"' if maxlength else ""
    extra += f' inputmode="{inputmode}"' if inputmode else ""
    extra += " required" if required else ""
    return f'<input type="text" id="{name}" name="{name}" value="{esc(value)}"{extra} {attrs}>'


def select_box(
    name: str,
    options: Iterable[str],
    selected: str = "",
    *,
    required: bool = False,
    empty: str = "",
) -> str:
    opts = [f'<option value="">{esc(empty)}</option>'] if empty or not required else []
    for option in options:
        mark = " selected" if option == selected else ""
        opts.append(f'<option value="{esc(option)}"{mark}>{esc(option)}</option>')
    req = " required" if required else ""
    return f'<select id="{name}" name="{name}"{req}>{"".join(opts)}</select>'


def checkboxes(name: str, options: Iterable[str], chosen: Iterable[str] = ()) -> str:
    picked = set(chosen)
    boxes = [
        f'<label class="chip"><input type="checkbox" name="{name}" value="{esc(o)}"'
        f"{' checked' if o in picked else ''}><span>{esc(o)}</span></label>"
        for o in options
    ]
    return f'<div class="chips" id="{name}">{"".join(boxes)}</div>'


def json_script(element_id: str, data: object) -> str:
    """Data for the page's script, safe inside <script> (no </script> can close it)."""
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" id="{element_id}">{text}</script>'
