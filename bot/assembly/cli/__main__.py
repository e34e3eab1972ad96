"""``python -m bot.assembly.cli …``: the same entry point as the ``leadbot`` script."""

from bot.assembly.cli.main import main

raise SystemExit(main())
