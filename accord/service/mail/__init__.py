"""Inbound mail parsing, the SMTP listener and threading headers for replies."""
