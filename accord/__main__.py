"""The `accord` command: Django's manage.py for this project."""

import os
import sys

# Commands that can keep a core busy for minutes: they run at background
# CPU priority, so that on a machine shared with the web server people's
# requests go first. With a core to spare they run at full speed.
BULK_COMMANDS = frozenset({"import", "export"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    from django.core.management import execute_from_command_line

    if len(sys.argv) > 1 and sys.argv[1] in BULK_COMMANDS:
        from accord.core.priority import lower_priority

        lower_priority()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
