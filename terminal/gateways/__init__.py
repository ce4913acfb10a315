"""Gateway adapters behind one contract (base.py)."""
