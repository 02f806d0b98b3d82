"""Export of the ixi schema for an external OpenLDAP: .schema file, cn=config LDIF, core patch."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ixidir.schema.schema import Schema


def export_openldap_schema(schema: Schema) -> str:
    raise NotImplementedError


def export_cn_config_ldif(schema: Schema) -> str:
    raise NotImplementedError
