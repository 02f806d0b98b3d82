"""ixidir: an LDAP directory server for unified messaging (ixi-UMS)."""

__version__ = "0.1.0"
