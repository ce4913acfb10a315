"""ETpay simulator pages: the payer funnel (bank, RUT, Pay / Reject / Cancel) and plain notices."""

from __future__ import annotations

import html

from terminal.sim.etpay_model import BANKS, FUNNEL_BANKS, MERCHANT_NAME, Session
from terminal.sim.pages import render_template

__all__ = ["format_clp", "funnel_page", "notice_page"]


def format_clp(amount: int) -> str:
    """Chilean style: ``$12.345 CLP`` (dot thousands separator, no decimals)."""
    return f"${amount:,} CLP".replace(",", ".")


def funnel_page(session: Session, action_base: str, error: str | None = None) -> str:
    """The funnel for an open session; ``action_base`` is ``.../session/{token}``."""
    codes = (session.user_bank_code,) if session.user_bank_code else FUNNEL_BANKS
    options = "\n".join(
        f'      <option value="{html.escape(code)}">{html.escape(BANKS[code])}</option>' for code in codes
    )
    rut = html.escape(session.user_rut or "", quote=True)
    # A blocked RUT is fixed by the merchant; the server ignores whatever the form sends for it.
    rut_attrs = f'value="{rut}" readonly' if session.is_rut_block else f'value="{rut}" required'
    rows = "".join(
        f"<dt>{html.escape(item['name'])}</dt><dd>{html.escape(str(item['value']))}</dd>"
        for item in session.metadata
        if item["show"]
    )
    values = {
        "title": "Pay by bank transfer \u2014 ETpay sandbox",
        "merchant": MERCHANT_NAME,
        "order_id": session.merchant_order_id,
        "amount": format_clp(session.amount),
        "pay_url": f"{action_base}/pay",
        "reject_url": f"{action_base}/reject",
        "cancel_url": f"{action_base}/cancel",
    }
    markup = {
        "bank_options": options,
        "rut_attrs": rut_attrs,
        "metadata_rows": rows,
        "error": f'<p class="error" id="error">{html.escape(error)}</p>' if error else "",
    }
    return render_template("etpay_funnel.html", values, markup)


def notice_page(title: str, message: str, return_action: str | None = None) -> str:
    """A sandbox notice; with ``return_action`` it offers a button (id ``return``) that POSTs there."""
    form = ""
    if return_action is not None:
        form = (
            f'<form method="post" action="{html.escape(return_action, quote=True)}">'
            '<button id="return" type="submit">Return to the merchant</button></form>'
        )
    return render_template(
        "etpay_notice.html",
        {"title": f"{title} \u2014 ETpay sandbox", "message": message},
        {"return_form": form},
    )
