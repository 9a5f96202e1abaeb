"""Which parts of a message an extractor has already claimed.

"ordre 1042, 2200 København, 26,5 cm" holds three numbers, and each may be read only
once: the extractors run from the most specific (emails, addresses, phones, amounts,
measurements) to the least (order numbers) and skip what an earlier one took.
"""

from __future__ import annotations


class Spans:
    def __init__(self) -> None:
        self._taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self._taken)

    def take(self, start: int, end: int) -> None:
        self._taken.append((start, end))

    def claim(self, start: int, end: int) -> bool:
        """Take the span if nothing took part of it yet; say whether it was free."""
        if not self.free(start, end):
            return False
        self.take(start, end)
        return True
