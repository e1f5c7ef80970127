"""``python -m player_sim`` is ``player-sim``."""

from .cli import main

main(prog_name="player-sim")
