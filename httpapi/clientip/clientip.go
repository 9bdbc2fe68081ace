package clientip

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The forwarding headers a Resolver can read.
const (
	// HeaderForwarded is RFC 7239's Forwarded header (its for= parameter).
	HeaderForwarded = "Forwarded"
	// HeaderXForwardedFor is the de facto X-Forwarded-For header.
	HeaderXForwardedFor = "X-Forwarded-For"
)

// Options configures a Resolver. The zero value trusts no proxy: every
// request's client is its TCP peer.
type Options struct {
	// TrustedProxies are the addresses or networks (CIDR) of the reverse
	// proxies in front of the server, for example "10.0.0.0/8" or
	// "::1". Only requests whose TCP peer is in this list have their
	// forwarding header read, and only its entries added by these proxies
	// are skipped.
	TrustedProxies []string
	// Header is the forwarding header the proxies append to:
	// HeaderXForwardedFor (the default) or HeaderForwarded. Name the one
	// your proxy sets: the other is whatever the client sent.
	Header string
}

// Resolver finds the client address of requests. A nil *Resolver trusts
// no proxy. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	header  string
}

// New checks opts and returns a Resolver.
func New(opts Options) (*Resolver, error) {
	r := &Resolver{header: HeaderXForwardedFor}
	switch strings.ToLower(opts.Header) {
	case "", strings.ToLower(HeaderXForwardedFor):
	case strings.ToLower(HeaderForwarded):
		r.header = HeaderForwarded
	default:
		return nil, fmt.Errorf("clientip: header %q is neither %s nor %s", opts.Header, HeaderForwarded, HeaderXForwardedFor)
	}
	var errs []error
	for _, s := range opts.TrustedProxies {
		p, err := ParsePrefix(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.trusted = append(r.trusted, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// ParsePrefix reads a trusted proxy: an IP address (a single host) or a
// network in CIDR notation.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q is not an address or CIDR network", s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q: an IPv4-mapped network needs at least /96", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q is not an address or CIDR network", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Trusted reports whether a is a trusted proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr returns the client address of req: the TCP peer, or, when the peer
// is a trusted proxy, the rightmost address in the forwarding header that
// is not a trusted proxy. If every listed address is trusted, the leftmost
// is the client. An entry that is not an address (an obfuscated or
// "unknown" node) stops the walk at the proxy that added it, which then
// stands for the client. The zero Addr means the peer address itself is
// unreadable.
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if !r.Trusted(peer) {
		return peer
	}
	hops := r.hops(req.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			return client
		}
		client = a
		if !r.Trusted(a) {
			return a
		}
	}
	return client
}

// Key returns the rate-limit key of req's client: Key(r.Addr(req)), or the
// raw RemoteAddr when that holds no address.
func (r *Resolver) Key(req *http.Request) string {
	a := r.Addr(req)
	if !a.IsValid() {
		return req.RemoteAddr
	}
	return Key(a)
}

// Key is the rate-limit key of an address: an IPv4 address as itself, an
// IPv6 address as its /64 network ("2001:db8:1:2::/64"). IPv4-mapped
// IPv6 addresses count as IPv4.
func Key(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// maxHops bounds how many header entries are read: a client can make the
// header as long as the proxy lets it.
const maxHops = 32

// hops returns the node values of the configured header, in order (all
// header lines joined), at most the last maxHops.
func (r *Resolver) hops(h http.Header) []string {
	var out []string
	for _, line := range h.Values(r.header) {
		for _, elem := range strings.Split(line, ",") {
			elem = strings.TrimSpace(elem)
			if r.header == HeaderForwarded {
				elem = forwardedFor(elem)
			}
			out = append(out, elem)
		}
	}
	if len(out) > maxHops {
		out = out[len(out)-maxHops:]
	}
	return out
}

// forwardedFor returns the for= value of one Forwarded element
// ("for=192.0.2.60;proto=http;by=203.0.113.43"), unquoted, or "" when it
// has none.
func forwardedFor(elem string) string {
	for _, pair := range strings.Split(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "for") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = strings.ReplaceAll(v[1:len(v)-1], `\`, "")
		}
		return v
	}
	return ""
}

// parseNode reads a node: "192.0.2.1", "192.0.2.1:8080", "[2001:db8::1]",
// "[2001:db8::1]:443" or a bare IPv6 address (X-Forwarded-For).
func parseNode(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || (end+1 < len(s) && s[end+1] != ':') {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil {
			return netip.Addr{}, false
		}
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// peerAddr reads the address of an http.Request's RemoteAddr.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
