"""Inbound email for the service desk.

`intake` reads one message and decides what it becomes (a ticket, a reply, nothing) as plain
synchronous functions; `listener` is the SMTP server that feeds it, run by `careline mail-intake`.
"""
