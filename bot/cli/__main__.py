"""``python -m bot.cli …``: the same entry point as the ``leadbot`` script."""

from bot.cli.main import main

raise SystemExit(main())
