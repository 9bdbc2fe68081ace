// Package clientip finds the address of the client behind a request for
// rate limits, trusting forwarding headers only from configured proxies.
//
// Production deployments run behind a TLS-terminating reverse proxy, so
// every request's TCP peer is the proxy: a limit keyed on the peer lets
// one client lock out everyone. A Resolver walks the proxy's forwarding
// header (RFC 7239 Forwarded, or X-Forwarded-For) from the right, past the
// addresses of trusted proxies, to the first address no trusted proxy
// vouches for: the client. Headers are ignored when the peer itself is not
// a trusted proxy, so a client cannot name its own address.
//
// Key groups IPv6 clients by their /64 network, which one host (or one
// customer line) usually owns entirely: a limit per IPv6 address would be
// one an attacker can sidestep by changing the interface identifier.
package clientip
