from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.utils import timezone

from careline.core import services
from careline.core.management.base import CareLineCommand
from careline.core.models import ApiToken


class Command(CareLineCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it (shown only once)")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="api")
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = services.user_by_username(options["user"])
            issued = services.create_token(None, user=user, name=options["name"])
            self.stdout.write(issued.secret)
        elif action == "list":
            user = services.user_by_username(options["user"])
            self.stdout.write(
                f"{'ID':>5}  {'PREFIX':<10} {'NAME':<20} {'CREATED':<17} {'LAST USED':<17} STATE"
            )
            for token in ApiToken.objects.filter(user=user).order_by("id"):
                self.stdout.write(
                    f"{token.pk:>5}  {token.prefix:<10} {token.name[:20]:<20} {_when(token.created_at):<17} "
                    f"{_when(token.last_used_at):<17} {'active' if token.active else 'revoked'}"
                )
        else:
            token = services.revoke_token(None, options["id"])
            self.stdout.write(
                f"revoked token {token.pk} ({token.prefix}…) of {token.user.username}"
            )


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "never"
