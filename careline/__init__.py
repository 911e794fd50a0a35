"""CareLine: the 24/7 IT support and operations platform for hospitals."""

__version__ = "0.1.0"
