"""ldaptor BER decoder contexts made strict: an unknown tag raises instead of printing.

ldaptor's `berDecodeObject` prints and skips a tag its context does not know; on client input
we want an exception, which the codec turns into a protocol error.
"""

from __future__ import annotations

from typing import Any

from ldaptor.protocols import pureber, pureldap


class _Strict:
    """Raise on a tag the context does not know, instead of ldaptor's print-and-skip."""

    def lookup_id(self, id: int) -> Any:
        found = super().lookup_id(id)  # type: ignore[misc]
        if found is None:
            raise pureber.UnknownBERTag(id, self)
        return found


class _StrictBER(_Strict, pureber.BERDecoderContext):  # type: ignore[misc]
    pass


class _StrictLDAP(_Strict, pureldap.LDAPBERDecoderContext):  # type: ignore[misc]
    pass


class _StrictMessage(_Strict, pureldap.LDAPBERDecoderContext_LDAPMessage):  # type: ignore[misc]
    pass


class _StrictTopLevel(_Strict, pureldap.LDAPBERDecoderContext_TopLevel):  # type: ignore[misc]
    pass


def message_decoder() -> Any:
    """The context nesting ldaptor's own server uses (ldapserver.BaseLDAPServer), made strict."""
    return _StrictTopLevel(
        inherit=_StrictMessage(
            fallback=_StrictLDAP(fallback=_StrictBER()),
            inherit=_StrictLDAP(fallback=_StrictBER()),
        )
    )


def strict_context(identities: dict[int, Any] | None = None) -> Any:
    """A plain BER context (plus `identities`, e.g. context-tagged octet strings) that is strict."""
    context = _StrictBER()
    if identities is not None:
        context.Identities = {**pureber.BERDecoderContext.Identities, **identities}
    return context
