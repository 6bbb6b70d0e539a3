"""The embedded payments provider: no account needed, Stripe's test tokens, the same state machine.

Money never leaves the process: the escrow rows and the double-entry ledger in the database are
the books. This adapter only decides which cards work, the way Stripe's test cards do.
"""

from __future__ import annotations

import hashlib
import threading

from tools.ports import CardInfo, PaymentDeclined, UnknownPaymentToken

#: token → (brand, last4, decline at the hold: (code, decline_code, message) or None)
TEST_CARDS: dict[str, tuple[str, str, tuple[str, str, str] | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_visa_debit": ("visa", "5556", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_chargeDeclined": ("visa", "0002", ("card_declined", "generic_decline", "Your card was declined.")),
    "pm_card_visa_chargeDeclined": ("visa", "0002", ("card_declined", "generic_decline", "Your card was declined.")),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "visa",
        "9995",
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "pm_card_chargeCustomerFail": (
        "visa",
        "0341",
        ("card_declined", "generic_decline", "Your card was declined when charged."),
    ),
}


class LedgerPayments:
    """Payments kept in our own ledger; holds are references, and declines follow Stripe's cards."""

    name = "ledger"

    def __init__(self) -> None:
        # Refs are derived from the idempotency key, so a retried call gets the same ref.
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  #: (operation, key), for operators' debugging

    def attach_method(self, token: str, *, customer: str) -> CardInfo:
        card = TEST_CARDS.get(token)
        if card is None:
            raise UnknownPaymentToken(
                f"Unknown card token {token!r}; use one of Stripe's test tokens: {', '.join(TEST_CARDS)}."
            )
        brand, last4, _ = card
        return CardInfo(ref=token, brand=brand, last4=last4)

    def hold(self, *, amount_cents: int, currency: str, method: str, customer: str, key: str) -> str:
        card = TEST_CARDS.get(method)
        if card is None:
            raise UnknownPaymentToken(f"Unknown payment method {method!r}.")
        decline = card[2]
        if decline is not None:
            code, decline_code, message = decline
            raise PaymentDeclined(message, decline_code=decline_code, code=code)
        self._note("hold", key)
        return "lh_" + hashlib.sha256(key.encode()).hexdigest()[:24]

    def capture(self, ref: str, *, amount_cents: int, key: str) -> None:
        self._note("capture", key)

    def release(self, ref: str, *, key: str) -> None:
        self._note("release", key)

    def refund(self, ref: str, *, amount_cents: int, key: str) -> None:
        self._note("refund", key)

    def _note(self, op: str, key: str) -> None:
        with self._lock:
            self.calls.append((op, key))
            del self.calls[:-1000]  # bounded: this is a debugging trail, not the books
