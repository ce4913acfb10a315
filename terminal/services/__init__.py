"""Use cases: payments (the only code that moves money), reconciliation, history, profiles."""
