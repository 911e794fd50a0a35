from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from careline.core import services
from careline.core.choices import Role
from careline.core.management.base import CareLineCommand


class Command(CareLineCommand):
    help = "Create a CareLine account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", help="department code")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("password: standard input was empty")
        user = services.create_user(
            None,
            username=options["username"],
            role=options["role"],
            password=password,
            department=options["department"],
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
        )
        note = "" if password else " (no password: it cannot sign in until one is set)"
        self.stdout.write(f"created {user.username} ({user.role}){note}")
