"""The one exception administrator commands raise for a failure the user can act on."""

from __future__ import annotations


class AdminError(Exception):
    """Printed by the CLI as `ixidir: <message>` with exit status 2; nothing was half-done."""
