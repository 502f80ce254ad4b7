/*
 * addr.h — may the server connect to this host? (server-side request forgery guard)
 *
 * Refused unless private addresses are allowed: every block of the IANA IPv4 and
 * IPv6 Special-Purpose Address Registries that is not globally reachable —
 * loopback (127/8, ::1), "this network" (0/8, ::), private (10/8, 172.16/12,
 * 192.168/16, fc00::/7), link-local (169.254/16 — which holds the cloud metadata
 * address 169.254.169.254 — and fe80::/10), carrier-grade NAT (100.64/10), IETF
 * protocol assignments (192.0.0/24, 2001::/23), documentation, benchmarking,
 * discard, local-use NAT64 (64:ff9b:1::/48), Teredo — plus multicast, reserved and
 * site-local space. IPv6 forms that carry an IPv4 address (::ffff:127.0.0.1,
 * ::ffff:0:127.0.0.1, 64:ff9b::127.0.0.1, 2002:7f00:1::) are judged by it. Host
 * names are resolved (getaddrinfo) and
 * refused if ANY address they resolve to is refused; numeric spellings such as
 * 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 are read the way the C library
 * (and so curl/Python) would read them.
 */
#ifndef TG_FETCH_ADDR_H
#define TG_FETCH_ADDR_H

#include <sys/socket.h>

#include "thumbgen.h"

/* 1 when the address is one of the refused kinds above, else 0. */
int tgi_addr_is_private(const struct sockaddr *sa);

/* Check a host (name or literal) for a connection: 0 when allowed, TG_ELIMIT with
 * a message naming the host and the kind of address when refused, TG_EINVAL when it
 * does not resolve. allow_private skips the check (but not the resolution). */
int tgi_host_check(tg_ctx *ctx, const char *host, int allow_private);

#endif
