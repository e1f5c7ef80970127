"""A media provider keeps the formats asked for as a tuple, whatever iterable came in
(``PhoenixMediaProvider.formats``: a value object, hashable and equal by content)."""

from __future__ import annotations

from player_sim import PhoenixMediaProvider


def test_formats_given_as_a_list_are_kept_as_a_tuple() -> None:
    provider = PhoenixMediaProvider(asset_id="1", formats=["dash", "hls"])
    assert provider.formats == ("dash", "hls")
    assert provider == PhoenixMediaProvider(asset_id="1", formats=("dash", "hls"))
    assert hash(provider) == hash(PhoenixMediaProvider(asset_id="1", formats=iter(["dash",
                                                                                 "hls"])))
