"""Estimated cost of model calls, from list prices per million tokens (USD)."""

from __future__ import annotations

from decimal import Decimal

# (input, output) per 1M tokens. Dated snapshots ("gpt-4o-mini-2024-07-18") match by prefix.
PRICES_PER_MILLION: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}
UNKNOWN_MODEL = (Decimal("2.50"), Decimal("10.00"))  # price an unknown model like a large one


def price_of(model: str) -> tuple[Decimal, Decimal]:
    matches = [name for name in PRICES_PER_MILLION if model.startswith(name)]
    return PRICES_PER_MILLION[max(matches, key=len)] if matches else UNKNOWN_MODEL


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    price_in, price_out = price_of(model)
    return (price_in * prompt_tokens + price_out * completion_tokens) / Decimal(1_000_000)
