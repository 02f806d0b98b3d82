"""The directory core: the DIT in memory, indexes, filters, access control and the LDAP operations."""
