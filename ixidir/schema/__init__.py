"""The directory schema: syntaxes, matching rules, attribute types, object classes and checks."""

from __future__ import annotations

from functools import cache

from ixidir.schema.ixi import check_ixi_rules
from ixidir.schema.loader import Definitions, default_definitions
from ixidir.schema.model import AttributeType, MatchingRule, ObjectClass, Syntax
from ixidir.schema.schema import Schema

__all__ = [
    "AttributeType",
    "Definitions",
    "MatchingRule",
    "ObjectClass",
    "Schema",
    "Syntax",
    "check_ixi_rules",
    "load_default_schema",
]


@cache
def load_default_schema() -> Schema:
    """The packaged schema (system, core, cosine, inetorgperson, ixi), parsed once per process."""
    return Schema(default_definitions())
