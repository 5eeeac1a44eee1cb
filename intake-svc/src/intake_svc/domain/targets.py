"""Where callbacks may go (SSRF guard, pure): https unless an admin allows http, and never to an address inside
the network (loopback, private, link-local, multicast, unspecified, reserved, or such an address embedded in an
IPv6 one) unless an admin put the host or its network on the allow-list. URLs are checked when a subscription is
made; every address a host name resolves to is checked again when each delivery is sent (adapters resolve, these
rules decide, the POST goes to the address that was checked)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from intake_svc.domain.problems import field_problem

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*\.?\Z")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class TargetPolicy:
    """What an admin allows (settings INTAKE_CALLBACK_ALLOW_HTTP, _ALLOWED_TARGETS, _ALLOWLIST_ONLY)."""

    allow_http: bool = False
    hosts: frozenset[str] = frozenset()  # exact host names (lower case, no trailing dot)
    suffixes: tuple[str, ...] = ()  # "*.example.gov.cn" → ".example.gov.cn"
    networks: tuple[Network, ...] = field(default=())
    allowlist_only: bool = False

    @classmethod
    def of(cls, entries: Iterable[str], *, allow_http: bool = False, allowlist_only: bool = False) -> TargetPolicy:
        """Parse allow-list entries: a host name, `*.suffix`, an IP address or a CIDR (ValueError names a bad one)."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[Network] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _HOST.match(entry):
                raise ValueError(f"callback allow-list entry {raw!r} is not a host name, *.suffix, IP or CIDR")
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                hosts.add(entry)
        return cls(allow_http=allow_http, hosts=frozenset(hosts), suffixes=tuple(suffixes),
                   networks=tuple(networks), allowlist_only=allowlist_only)

    def names_host(self, host: str) -> bool:
        """The admin allowed this host name (exactly or by suffix)."""
        h = host.lower().rstrip(".")
        return h in self.hosts or any(h.endswith(s) for s in self.suffixes)

    def covers(self, ip: IP) -> bool:
        """The admin allowed a network holding this address."""
        return any(ip.version == n.version and ip in n for n in self.networks)


def parse_ip(host: str) -> IP | None:
    """An IP literal in any form a resolver accepts: dotted, decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1),
    short (127.1), bracketed IPv6; None for a host name."""
    h = host.strip().strip("[]").lower()
    try:
        return ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        pass
    parts = h.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    try:
        nums = [int(p, 16) if p.startswith("0x") else int(p, 8) if len(p) > 1 and p.startswith("0") else int(p)
                for p in (q if q != "0x" else "0x0" for q in parts)]
    except ValueError:
        return None
    last_max = 256 ** (5 - len(nums)) - 1
    if any(n > 255 for n in nums[:-1]) or nums[-1] > last_max:
        return None
    value = 0
    for n in nums[:-1]:
        value = value * 256 + n
    value = value * 256 ** (5 - len(nums)) + nums[-1]
    return ipaddress.IPv4Address(value)


def _embedded(ip: IP) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.append(ip.teredo[1])
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def why_refused(ip: IP) -> str | None:
    """Why an address is inside the network (None: a public address)."""
    for a in [*_embedded(ip), ip]:  # an embedded IPv4 address names what is really reached
        if a.is_unspecified:
            return "an unspecified address"
        if a.is_loopback:
            return "a loopback address"
        if a.is_link_local:
            return "a link-local address"
        if a.is_multicast:
            return "a multicast address"
        if a.is_private:
            return "a private address"
        if a.is_reserved or not a.is_global:
            return "a reserved or non-public address"
    return None


def refuse_address(host: str, ip: IP, policy: TargetPolicy) -> str | None:
    """Why the deliverer must not connect to `ip` (which `host` resolved to); None when it may."""
    if policy.names_host(host) or policy.covers(ip):
        return None
    if policy.allowlist_only:
        return "the target is not on the callback allow-list"
    reason = why_refused(ip)
    return f"the target resolves to {reason}; an admin may allow it (INTAKE_CALLBACK_ALLOWED_TARGETS)" \
        if reason else None


def choose_address(host: str, addresses: Sequence[str], policy: TargetPolicy) -> tuple[str | None, str | None]:
    """The address to connect to, or the reason the target is refused: every address the host resolves to must
    be allowed (a name that also resolves inside the network is refused as a whole)."""
    chosen: str | None = None
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        reason = refuse_address(host, ip, policy)
        if reason:
            return None, reason
        chosen = chosen or str(ip)
    if chosen is None:
        return None, "the target's host name does not resolve"
    return chosen, None


def check_url(url: str, policy: TargetPolicy, *, field: str = "url") -> str:
    """A callback URL as given, refused early (422 naming the field) when its scheme is not allowed, it carries
    credentials, or its host is an IP literal (in any form) that may not be reached. Host names are checked after
    DNS resolution, at each delivery."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        raise field_problem(field, "not a URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise field_problem(field, "an https URL is required")
    if parts.scheme == "http" and not policy.allow_http:
        raise field_problem(field, "callbacks go to https URLs only (an admin may allow http: "
                                   "INTAKE_CALLBACK_ALLOW_HTTP)")
    if parts.username is not None or parts.password is not None:
        raise field_problem(field, "credentials in the URL are not accepted (they would be logged); "
                                   "deliveries are signed instead")
    ip = parse_ip(host)
    if ip is not None:
        reason = refuse_address(host, ip, policy)
        if reason:
            raise field_problem(field, reason)
    elif policy.allowlist_only and not policy.names_host(host):
        raise field_problem(field, "the target is not on the callback allow-list")
    return url
