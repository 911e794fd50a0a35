"""People, places, roles, API tokens and the audit trail: what every other app builds on."""
