package m365access

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365test"
)

// BenchmarkCachedToken measures GetToken for a customer whose access token
// is fresh in memory.
func BenchmarkCachedToken(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.connect(b, "c1")
	cred := e.m.Credential("c1")
	ctx := context.Background()
	opts := graphScope()
	_, err := cred.GetToken(ctx, opts)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_, err := cred.GetToken(ctx, opts)
		require.NoError(b, err)
	}
}

// BenchmarkRefresh100Customers measures 100 customers whose access tokens
// are due refreshing at once, with 50 ms of latency on every refresh at
// the fake token endpoint. One op is all 100 refreshes; serial refreshes
// would take at least 100 x 50 ms = 5 s.
func BenchmarkRefresh100Customers(b *testing.B) {
	e := newEnv(b, envOptions{atLifetime: 4 * time.Minute})
	const n = 100
	for i := range n {
		e.connect(b, fmt.Sprintf("c%03d", i))
	}
	e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointToken, GrantType: "refresh_token", Latency: 50 * time.Millisecond})
	ctx := context.Background()
	m := e.m
	before := e.srv.Count(refreshes)
	ops := 0
	for b.Loop() {
		b.StopTimer()
		for i := range n { // every customer's access token is now due
			m.forgetTokens(fmt.Sprintf("c%03d", i))
		}
		b.StartTimer()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := m.Credential(fmt.Sprintf("c%03d", i)).GetToken(ctx, graphScope())
				assert.NoError(b, err)
			})
		}
		wg.Wait()
		ops++
	}
	require.Equal(b, n*ops, e.srv.Count(refreshes)-before, "refreshes for %d ops", ops)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(ops), "ms/100-refreshes")
}
