package events_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// BenchmarkEmit records one event (with its deduplication insert) in
// SQLite and hands it to one subscriber; no webhook endpoint.
func BenchmarkEmit(b *testing.B) {
	db := testdb.SQLite(b)
	bus, err := events.New(context.Background(), events.Options{DB: db.DB, Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	bus.Subscribe(func(context.Context, events.Event) {})
	i := 0
	for b.Loop() {
		i++
		err := bus.Emit(context.Background(), events.Event{Type: events.ConnectionFailed, Key: "state/" + strconv.Itoa(i),
			Data: events.Data{Customer: "contoso", Action: "reInvite", Error: "AADSTS700082: the refresh token has expired"}})
		require.NoError(b, err)
	}
}

// BenchmarkSign signs a 300-byte body with two secrets (a rotation).
func BenchmarkSign(b *testing.B) {
	keys := [][]byte{make([]byte, 32), make([]byte, 32)}
	body := make([]byte, 300)
	now := time.Now()
	for b.Loop() {
		_ = events.Sign(keys, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)
	}
}
