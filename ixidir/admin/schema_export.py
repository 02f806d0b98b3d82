"""`ixidir schema export`: the ixi schema for an external OpenLDAP (.schema or cn=config LDIF)."""

from __future__ import annotations

import sys
from pathlib import Path

from ixidir.schema import load_default_schema


def export_schema(form: str, output: Path | None) -> int:
    """Write the schema to `output` (or standard output); `form` is `schema` or `ldif`."""
    schema = load_default_schema()
    text = schema.export_openldap_schema() if form == "schema" else schema.export_cn_config_ldif()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    return 0
