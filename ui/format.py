"""Numbers for people, as the pages use them: the engine's formatters (``margin.numbers``)."""

from margin.numbers import money, percent, price

__all__ = ["money", "percent", "price"]
