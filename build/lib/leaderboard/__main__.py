"""``python -m leaderboard``: see :mod:`leaderboard.launch`."""
import sys

from leaderboard.launch import main

sys.exit(main())
