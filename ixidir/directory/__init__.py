"""The directory core: the DIT in memory, indexes, filters, access control, LDAP operations."""
