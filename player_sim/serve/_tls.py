"""HTTPS for devices that refuse plain HTTP (iOS App Transport Security, say).

Two ways: the user's own certificate and key (:class:`Tls`, ``--certfile`` /
``--keyfile``), or a local CA made here (:func:`local_ca`, ``--local-ca DIR``):
a throw-away certificate authority (``DIR/ca.pem``, to install and trust on the
test device) and a server certificate it signed for the names the lab is reached
by. The CA comes from ``trustme`` (python-trio's test-CA library), so its key never
leaves ``DIR``; it must never be trusted beyond the test device.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import attrs

from .._errors import ConfigError

__all__ = ["Tls", "local_ca"]


@attrs.frozen
class Tls:
    """A server certificate (PEM chain) and its private key (PEM), as files; ``ca`` is
    the certificate a device must trust (``None``: a public CA signed it)."""

    certfile: Path
    keyfile: Path
    ca: Path | None = None

    def check(self) -> None:
        """Refuse files that are missing, with the option to fix."""
        for option, path in (("--certfile", self.certfile), ("--keyfile", self.keyfile)):
            if not path.is_file():
                raise ConfigError(f"{option} {path}: no such file (a PEM file is expected)")


def local_ca(directory: str | os.PathLike[str], hosts: Sequence[str]) -> Tls:
    """Make a local CA in ``directory`` and a server certificate for ``hosts`` (plus
    ``localhost`` and ``127.0.0.1``); write ``ca.pem``, ``server.pem`` and
    ``server.key`` (readable by the owner only); return them as :class:`Tls`.

    Needs ``trustme`` (in the ``serve`` extra).
    """
    import trustme

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys([*hosts, "localhost", "127.0.0.1"]))
    authority = trustme.CA(organization_name="player_sim local test CA")
    server = authority.issue_cert(*names)
    tls = Tls(folder / "server.pem", folder / "server.key", folder / "ca.pem")
    authority.cert_pem.write_to_path(str(tls.ca))
    server.cert_chain_pems[0].write_to_path(str(tls.certfile))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(tls.certfile), append=True)
    server.private_key_pem.write_to_path(str(tls.keyfile))
    os.chmod(tls.keyfile, 0o600)
    return tls
