"""Database backends CareLine adds to Django's."""
