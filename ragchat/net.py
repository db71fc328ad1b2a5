"""Which addresses stay on this machine: the line between serving the user and serving the network."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1, with or without brackets).

    Any other host name counts as beyond this machine: what it resolves to can change.
    """
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
