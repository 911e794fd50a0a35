"""Who may read the status page: everyone signed in; anonymous visitors only when the page is
public (CARELINE_STATUS_PUBLIC) and they come from the hospital's own networks
(CARELINE_STATUS_NETWORKS).

The address is the connection's own (REMOTE_ADDR). CareLine has no trusted-proxy setting, so
an X-Forwarded-For header is never believed: anyone could send one.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from careline.env import ImproperSetting

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "CARELINE_STATUS_NETWORKS"


class NetworkSettingError(ImproperSetting, ImproperlyConfigured):
    """A bad CARELINE_STATUS_NETWORKS: Django's ImproperlyConfigured, and the CareLine
    setting error the `careline` command prints as one line naming the variable."""


@cache
def parse_networks(raw: tuple[str, ...], public: bool = False) -> tuple[Network, ...]:
    """The networks of the setting, or a NetworkSettingError naming the bad entry."""
    found: list[Network] = []
    for entry in raw:
        try:
            found.append(ipaddress.ip_network(entry.strip(), strict=True))
        except ValueError as exc:
            hint = ""
            try:
                loose = ipaddress.ip_network(entry.strip(), strict=False)
                hint = f"; did you mean {loose}?"
            except ValueError:
                pass
            raise NetworkSettingError(
                f"{SETTING} must be a comma-separated list of networks such as 10.0.0.0/8 "
                f"({exc}{hint})"
            ) from None
    if public and not found:
        raise NetworkSettingError(
            f"{SETTING} is empty while CARELINE_STATUS_PUBLIC is on: name the hospital's "
            "networks (e.g. 10.0.0.0/8) or turn the public status page off"
        )
    return tuple(found)


def networks() -> tuple[Network, ...]:
    return parse_networks(tuple(settings.STATUS_NETWORKS), bool(settings.STATUS_PUBLIC))


def client_address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "").strip())
    except ValueError:
        return None
    # An IPv4 client of a dual-stack listener arrives as ::ffff:10.1.2.3.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def anonymous_may_read(request: HttpRequest) -> bool:
    if not settings.STATUS_PUBLIC:
        return False
    address = client_address(request)
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks())


def may_read(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated) or anonymous_may_read(request)
