"""Pure domain: money, cards, the ledger and its rules. No I/O, no Qt, no HTTP, no SQL."""
