"""State: the server's accounts, votes and audit log."""
