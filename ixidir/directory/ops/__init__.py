"""One module per LDAP operation, each a function over `DirectoryState` (lldap's split)."""
