"""The ``player-sim`` command line: parses arguments, calls the library, sets exit codes.

Exit codes: 0 success, 1 a check failed (a scenario, a rule, a mutant), 2 bad input.
"""

from __future__ import annotations

import click

from .player import mermaid_diagram

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="player_sim")
def main() -> None:
    """Simulate video-player SDKs' secure playback sessions in virtual time."""


@main.command()
def diagram() -> None:
    """Print the player lifecycle as a Mermaid state diagram."""
    click.echo(mermaid_diagram(), nl=False)
