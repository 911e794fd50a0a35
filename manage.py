#!/usr/bin/env python3
"""Django's manage.py for CareLine; `careline` is the same command, installed."""

from careline.cli import main

if __name__ == "__main__":
    main()
