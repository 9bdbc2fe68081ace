package m365test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkTeamsAt1000 measures deriving 1,000 demo Teams configurations
// (the per-user work of a userConfigurations page of 999).
func BenchmarkTeamsAt1000(b *testing.B) {
	s := NewServer(&Options{InMemory: true})
	defer s.Close()
	t, err := s.AddTenant(TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 50_000})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		for pos := 40_000; pos < 41_000; pos++ {
			_, ok := t.teamsAt(pos, false)
			require.True(b, ok, "teamsAt(%d)", pos)
		}
	}
}
