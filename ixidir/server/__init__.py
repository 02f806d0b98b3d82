"""The LDAP protocol adapter: sans-IO codec, per-connection sessions, the Twisted protocol."""
