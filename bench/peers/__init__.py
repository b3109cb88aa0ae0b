"""The trainers that the benchmarks compare, one file per peer, behind ``base.Peer``.

``load_peer(name)`` returns the class or raises ``PeerUnavailable`` with the
reason (a library not installed, fastnet's core not there yet).
"""

from __future__ import annotations

import importlib

from bench.peers.base import Peer, PeerUnavailable

# name -> module defining ``PEER``; fastnet first, then the peers it is measured against.
PEER_MODULES = {
    "fastnet": "bench.peers.fastnet_peer",
    "numpy_matrix": "bench.peers.numpy_matrix",
    "book_loop": "bench.peers.book_loop",
    "torch": "bench.peers.torch_peer",
    "sklearn": "bench.peers.sklearn_peer",
}
PEER_NAMES = tuple(PEER_MODULES)


def load_peer(name: str) -> type[Peer]:
    """The peer class called ``name``; raises PeerUnavailable when it cannot run here."""
    if name not in PEER_MODULES:
        raise ValueError(f"unknown peer {name!r}; pass one of {', '.join(PEER_NAMES)}")
    cls = importlib.import_module(PEER_MODULES[name]).PEER
    cls.check_available()
    return cls


__all__ = ["PEER_NAMES", "Peer", "PeerUnavailable", "load_peer"]
