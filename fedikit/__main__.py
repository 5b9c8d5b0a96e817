"""``python -m fedikit`` is the ``fedikit`` command."""

from fedikit.core.cli import main

main()
