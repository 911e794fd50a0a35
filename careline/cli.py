"""The `careline` command: `careline run`, `serve`, `engine`, `demo`, `createuser`, `token`,
`audit verify`, and every Django management command (`careline migrate`, `careline check`)."""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line

from careline.env import ImproperSetting


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    args = sys.argv[1:] if argv is None else argv
    # Django names commands after modules, which cannot hold a hyphen.
    args = ["mail_intake", *args[1:]] if args[:1] == ["mail-intake"] else args
    try:
        execute_from_command_line(["careline", *args])
    except ImproperSetting as exc:
        # A deployment mistake, not a bug: one line naming the variable, no traceback.
        sys.exit(f"careline: configuration error: {exc}")


if __name__ == "__main__":
    main()
