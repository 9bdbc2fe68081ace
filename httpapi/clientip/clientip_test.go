package clientip

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolverAddr(t *testing.T) {
	t.Parallel()
	xff, err := New(Options{TrustedProxies: []string{"10.0.0.0/8", "::1", "2001:db8:ffff::/48"}})
	require.NoError(t, err)
	fwd, err := New(Options{TrustedProxies: []string{"10.0.0.1"}, Header: "forwarded"})
	require.NoError(t, err)
	tests := []struct {
		name    string
		r       *Resolver
		remote  string
		headers map[string][]string
		want    string
	}{
		{"no proxy trusted: the peer", nil, "192.0.2.7:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "192.0.2.7"},
		{"untrusted peer's header ignored", xff, "192.0.2.7:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "192.0.2.7"},
		{"trusted proxy, one client", xff, "10.1.2.3:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"client-supplied entries on the left are skipped", xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.66, 198.51.100.1"}}, "198.51.100.1"},
		{"chain of trusted proxies", xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.66, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"several header lines", xff, "[::1]:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.66", "198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"all trusted: the leftmost", xff, "10.1.2.3:5000", map[string][]string{"X-Forwarded-For": {"10.0.0.5, 10.0.0.6"}}, "10.0.0.5"},
		{"trusted proxy without header", xff, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"garbage entry stops at the proxy", xff, "10.1.2.3:5000", map[string][]string{"X-Forwarded-For": {"198.51.100.1, bogus"}}, "10.1.2.3"},
		{"IPv6 client", xff, "[2001:db8:ffff::9]:443", map[string][]string{"X-Forwarded-For": {"2001:db8:1:2::77"}}, "2001:db8:1:2::77"},
		{"IPv4-mapped peer", xff, "[::ffff:10.0.0.1]:443", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"Forwarded for=", fwd, "10.0.0.1:80", map[string][]string{"Forwarded": {`for=192.0.2.60;proto=https;by=10.0.0.1`}}, "192.0.2.60"},
		{"Forwarded quoted IPv6 with port", fwd, "10.0.0.1:80", map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded list, spoofed left", fwd, "10.0.0.1:80", map[string][]string{"Forwarded": {`for=203.0.113.1, for=198.51.100.2`}}, "198.51.100.2"},
		{"Forwarded unknown node", fwd, "10.0.0.1:80", map[string][]string{"Forwarded": {`for=unknown`}}, "10.0.0.1"},
		{"Forwarded ignores X-Forwarded-For", fwd, "10.0.0.1:80", map[string][]string{"X-Forwarded-For": {"198.51.100.9"}}, "10.0.0.1"},
		{"X-Forwarded-For ignores Forwarded", xff, "10.0.0.1:80", map[string][]string{"Forwarded": {"for=198.51.100.9"}}, "10.0.0.1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for k, vs := range tc.headers {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
		assert.Equal(t, tc.want, tc.r.Addr(r).String(), "%s: Addr", tc.name)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:5000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
		{"not-an-address", "not-an-address"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		assert.Equal(t, tc.want, (*Resolver)(nil).Key(r), "Key(%q)", tc.remote)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{TrustedProxies: []string{"10.0.0.0/33"}},
		{TrustedProxies: []string{"proxy.example.com"}},
		{TrustedProxies: []string{"::ffff:10.0.0.0/8"}},
		{Header: "X-Real-IP"},
	} {
		_, err := New(o)
		assert.Error(t, err, "New(%+v) accepted", o)
	}
	r, err := New(Options{TrustedProxies: []string{" 10.0.0.0/8 ", "::ffff:192.0.2.0/120", "fe80::1%eth0"}})
	require.NoError(t, err)
	for _, a := range []string{"10.2.3.4", "192.0.2.9", "fe80::1"} {
		assert.True(t, r.Trusted(netip.MustParseAddr(a)), "%s not trusted", a)
	}
}

// FuzzAddr feeds arbitrary forwarding headers through a trusted proxy: the
// result is always the peer or an address that appears in the header, and
// never a trusted proxy unless every hop is one.
func FuzzAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "a, b, 10.0.0.1", `for="[2001:db8::1]:80";proto=https`, "for=unknown", "", ",,,", `for="\"`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, header string, forwarded bool) {
		opts := Options{TrustedProxies: []string{"10.0.0.0/8"}}
		name := HeaderXForwardedFor
		if forwarded {
			opts.Header, name = HeaderForwarded, HeaderForwarded
		}
		res, err := New(opts)
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1234"
		r.Header.Set(name, header)
		a := res.Addr(r)
		require.True(t, a.IsValid(), "no address for %q", header)
		if a != netip.MustParseAddr("10.0.0.1") && !strings.Contains(header, a.String()) {
			// The address may be printed differently than written (IPv6
			// compression, IPv4-mapped), so re-check through the parser.
			found := false
			for _, h := range res.hops(r.Header) {
				if b, ok := parseNode(h); ok && b == a {
					found = true
				}
			}
			require.True(t, found, "Addr %v is neither the peer nor in %q", a, header)
		}
		if res.Trusted(a) {
			// A trusted proxy stands for the client only when the walk from
			// the right met no untrusted address before an unreadable entry
			// (or the header's end).
			hops := res.hops(r.Header)
			for i := len(hops) - 1; i >= 0; i-- {
				h, ok := parseNode(hops[i])
				if !ok {
					break
				}
				require.True(t, res.Trusted(h), "Addr %v is a trusted proxy, but %v (untrusted) is to its right in %q", a, h, header)
			}
		}
		_ = res.Key(r)
	})
}
