"""Money is integer cents inside; whole units only at the API boundary (seed 002)."""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM_FEE_BPS = 1500  #: 15 % platform fee, in basis points


@dataclass(frozen=True, slots=True)
class Money:
    cents: int
    currency: str

    @classmethod
    def from_units(cls, units: int, currency: str) -> Money:
        return cls(cents=int(units) * 100, currency=currency.upper())

    @property
    def units(self) -> int:
        """Whole units for the API; cents below a unit are never produced by our own maths."""
        return self.cents // 100

    def split_fee(self, fee_bps: int = PLATFORM_FEE_BPS) -> tuple[Money, Money]:
        """(talent share, platform fee); rounding goes to the talent, the two always add up."""
        fee = self.cents * fee_bps // 10_000
        return Money(self.cents - fee, self.currency), Money(fee, self.currency)
