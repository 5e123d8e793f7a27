"""``python -m coordination.cli``: the same as the ``coord`` script."""

from coordination.cli import main

main()
