"""On-call and notifications: the outbox that never loses a message (issue 6 grows it)."""
