"""Gateway simulators: the other side of the wire, one ASGI app per gateway plus shared sandbox rules.

Nothing here imports the rest of ``terminal``; see docs/SANDBOX.md for the conventions.
"""
