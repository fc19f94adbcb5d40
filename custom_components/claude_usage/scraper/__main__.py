"""Run the scraper: `python3 custom_components/claude_usage/scraper <command> ...`."""

import sys

if not __package__:
    # Started as a folder: sys.path[0] is this folder, whose module names must not shadow the
    # standard library. Put the parent there instead so the package imports as `scraper`.
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from scraper.cli import main  # type: ignore[import-not-found]
else:
    from .cli import main

sys.exit(main())
