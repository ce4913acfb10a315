"""The customer's browser for OGO Pay, without a web engine: our card form -> the simulator's 3-D Secure page
-> the auto-posted return fields.

It fills the page `begin_hosted_entry` built (so that page's form is exercised too), posts it to OGO's
/registercard-html as a browser would, presses Approve or Decline, and reads the fields the simulator's
auto-submitting page would post to the return URL. Only tests hold card numbers, and only here.
"""

from __future__ import annotations

import httpx

from terminal.gateways.base import Challenge
from tests.support.form_browser import form_with_button, forms_of


async def enter_card(
    challenge: Challenge,
    card_number: str,
    *,
    expiry_month: str = "12",
    expiry_year: str = "39",
    approve: bool = True,
) -> dict[str, str]:
    """Type the card into the card page, pass (or fail) 3-D Secure; return the fields posted back."""
    assert challenge.html is not None, "OGO's card entry is an HTML page"
    card_form = forms_of(challenge.html, challenge.base_url or "")[0]
    assert card_form.method == "post"
    assert card_form.action.endswith("/registercard-html")
    # What JavaScript would do on submit: strip spaces (the page also works without it).
    typed = {
        "cardNumber": card_number.replace(" ", ""),
        "expiryMonth": expiry_month,
        "expiryYear": expiry_year,
    }
    async with httpx.AsyncClient(timeout=5.0) as client:
        page = await client.post(card_form.action, data={**card_form.fields, **typed})
        assert page.status_code == 200, page.text
        button = "approve" if approve else "decline"
        answer_form = form_with_button(page.text, str(page.url), button)
        answer = await client.post(answer_form.action, data=answer_form.fields)
        assert answer.status_code == 200, answer.text
    final = forms_of(answer.text, str(answer.url))[0]
    assert final.action == challenge.return_url_prefix, "the answer must go to our return URL"
    return final.fields
