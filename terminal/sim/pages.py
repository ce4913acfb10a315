"""HTML pages the simulators show in the browser: the 3-D Secure challenge and the auto-post back.

Templates live in ``terminal/sim/templates``; every value is HTML-escaped unless passed as trusted markup.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from string import Template

__all__ = ["autopost_page", "challenge_page", "render_template"]


@cache
def _template(name: str) -> Template:
    return Template(files("terminal.sim").joinpath("templates", name).read_text(encoding="utf-8"))


def render_template(name: str, values: Mapping[str, str], markup: Mapping[str, str] | None = None) -> str:
    """Fill a template: ``values`` are escaped, ``markup`` is inserted as is (already safe HTML)."""
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    return _template(name).substitute({**escaped, **(markup or {})})


def challenge_page(
    *,
    gateway: str,
    merchant: str,
    card_mask: str,
    approve_url: str,
    decline_url: str,
    details: Mapping[str, str] | None = None,
) -> str:
    """The sandbox 3-D Secure page: who, which card (masked), and big Approve / Decline buttons."""
    rows = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>"
        for label, value in (details or {}).items()
    )
    values = {
        "title": f"3-D Secure \u2014 {gateway} sandbox",
        "gateway": gateway,
        "merchant": merchant,
        "card_mask": card_mask,
        "approve_url": approve_url,
        "decline_url": decline_url,
    }
    return render_template("challenge.html", values, {"extra_rows": rows})


def autopost_page(*, action: str, fields: Mapping[str, str], title: str, message: str) -> str:
    """A page whose form POSTs ``fields`` to ``action`` at once (script) or on Continue (no script)."""
    inputs = "\n".join(
        f'    <input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    values = {"title": title, "message": message, "action": action}
    return render_template("autopost.html", values, {"inputs": inputs})
