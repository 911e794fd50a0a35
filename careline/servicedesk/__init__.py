"""The service desk: tickets triaged by their effect on patient care."""
