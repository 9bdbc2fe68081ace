package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	box := outbox.New(outbox.Options{Capacity: 3, Now: func() time.Time { return at }})
	for i := range 5 {
		msg := &invite.Message{To: fmt.Sprintf("u%d@x.example", i%2), Subject: fmt.Sprint("s", i), Text: "t", HTML: "h"}
		require.NoError(t, box.Send(t.Context(), msg))
		msg.Subject = "changed after Send" // the outbox keeps its own copy
	}
	got := box.List()
	require.Len(t, got, 3, "List = %+v", got)
	require.Equal(t, int64(5), got[0].Seq, "List = %+v", got)
	require.Equal(t, int64(3), got[2].Seq, "List = %+v", got)
	require.Equal(t, "s4", got[0].Message.Subject, "List = %+v", got)
	require.True(t, got[0].At.Equal(at), "List = %+v", got)
	to := box.To("U1@X.example")
	require.Len(t, to, 1, "To = %+v", to)
	require.Equal(t, int64(4), to[0].Seq, "To = %+v", to)
	box.Clear()
	require.Empty(t, box.List(), "Clear kept messages")
}

func TestOutboxRefuses(t *testing.T) {
	t.Parallel()
	box := outbox.New(outbox.Options{})
	for name, msg := range map[string]*invite.Message{
		"nil":          nil,
		"no recipient": {Subject: "s"},
		"CRLF subject": {To: "a@x.example", Subject: "s\r\nBcc: e@x.example"},
		"LF to":        {To: "a@x.example\nBcc: e@x.example"},
		"CR reply-to":  {To: "a@x.example", ReplyTo: "r@x.example\r"},
	} {
		assert.Error(t, box.Send(t.Context(), msg), "%s: accepted", name)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.Error(t, box.Send(ctx, &invite.Message{To: "a@x.example"}), "cancelled context: accepted")
	require.Empty(t, box.List(), "refused messages kept")
}

func TestOutboxConcurrent(t *testing.T) {
	t.Parallel()
	box := outbox.New(outbox.Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				_ = box.Send(t.Context(), &invite.Message{To: fmt.Sprintf("%d-%d@x.example", i, j)})
				_ = box.List()
			}
		})
	}
	wg.Wait()
	require.Len(t, box.List(), 400, "messages")
}

func ExampleOutbox() {
	box := outbox.New(outbox.Options{})
	_ = box.Send(context.Background(), &invite.Message{To: "admin@contoso.example", Subject: "Connect your tenant"})
	for _, e := range box.List() {
		fmt.Println(e.Seq, e.Message.To, e.Message.Subject)
	}
	// Output: 1 admin@contoso.example Connect your tenant
}
