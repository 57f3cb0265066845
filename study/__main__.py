"""``python -m study`` = the ``oversight`` command (works before the script is on PATH)."""

from study.cli import main

main()
