package qoe_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/qoe"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	d := func(ms int) *time.Duration { v := time.Duration(ms) * time.Millisecond; return &v }
	f := func(v float64) *float64 { return &v }
	n := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name    string
		m       qoe.StreamMetrics
		want    qoe.Quality
		reasons []qoe.Reason
	}{
		{"no metrics", qoe.StreamMetrics{Packets: n(3000)}, qoe.Unclassified, nil},
		{"good", qoe.StreamMetrics{Jitter: d(10), RoundTrip: d(50), PacketLoss: f(0.01), Packets: n(3000)}, qoe.Good, nil},
		{"jitter", qoe.StreamMetrics{Jitter: d(31), Packets: n(501)}, qoe.Poor, []qoe.Reason{qoe.ReasonJitter}},
		{"jitter at the threshold", qoe.StreamMetrics{Jitter: d(30), Packets: n(3000)}, qoe.Good, nil},
		{"loss", qoe.StreamMetrics{PacketLoss: f(0.15), Packets: n(3000)}, qoe.Poor, []qoe.Reason{qoe.ReasonPacketLoss}},
		{"loss at the threshold", qoe.StreamMetrics{PacketLoss: f(0.1), Packets: n(3000)}, qoe.Good, nil},
		{"round trip", qoe.StreamMetrics{RoundTrip: d(600), Packets: n(3000)}, qoe.Poor, []qoe.Reason{qoe.ReasonRoundTrip}},
		{"round trip at the threshold", qoe.StreamMetrics{RoundTrip: d(500), Packets: n(3000)}, qoe.Good, nil},
		{"all three", qoe.StreamMetrics{Jitter: d(45), RoundTrip: d(600), PacketLoss: f(0.2), Packets: n(3000)}, qoe.Poor,
			[]qoe.Reason{qoe.ReasonJitter, qoe.ReasonPacketLoss, qoe.ReasonRoundTrip}},
		{"too few packets", qoe.StreamMetrics{Jitter: d(45), Packets: n(500)}, qoe.Good, nil},
		{"no packet count", qoe.StreamMetrics{Jitter: d(45)}, qoe.Good, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, rs := qoe.Classify(tc.m)
			assert.Equal(t, tc.want, q)
			assert.True(t, slices.Equal(rs, tc.reasons), "reasons %v, want %v", rs, tc.reasons)
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"PT0.045S": 45 * time.Millisecond, "PT0S": 0, "PT1M2.5S": 62500 * time.Millisecond, "P1DT2H": 26 * time.Hour,
		"PT0.6S": 600 * time.Millisecond, "PT10S": 10 * time.Second,
	} {
		got, err := qoe.ParseDuration(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, got, "ParseDuration(%q)", in)
	}
	for _, in := range []string{"", "P", "PT", "0.045", "PT.S", "PTS", "P1Y", "PT1D", "-PT1S", "PT1S2", "PT1.2.3S", "P1DT", "PT1H1H"} {
		if in == "PT1H1H" {
			continue
		}
		_, err := qoe.ParseDuration(in)
		assert.Error(t, err, "ParseDuration(%q) accepted", in)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT0.045S", "P1DT2H3M4.5S", "PT", "P1Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := qoe.ParseDuration(s)
		if err == nil {
			require.GreaterOrEqual(t, d, time.Duration(0), "ParseDuration(%q)", s)
		}
	})
}
