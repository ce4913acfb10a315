"""History queries for the screens: pages of transactions, newest first, and one transaction whole."""

from __future__ import annotations

from terminal.domain.ledger import Operation, Transaction
from terminal.services.journal import Journal
from terminal.store.transactions import TransactionRow


class HistoryService:
    """Read-only views of the journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def page(self, offset: int, limit: int, search: str = "") -> list[TransactionRow]:
        """Rows `offset`..`offset+limit` of the history matching `search`, newest first."""
        return await self.journal.page(offset, limit, search)

    async def count(self, search: str = "") -> int:
        """How many transactions match `search`."""
        return await self.journal.count(search)

    async def transaction(self, tx_id: str) -> Transaction:
        """One transaction with its whole journal."""
        return await self.journal.get(tx_id)

    async def needs_attention(self) -> list[tuple[Transaction, Operation]]:
        """Operations whose outcome is not known yet."""
        return await self.journal.unresolved()
