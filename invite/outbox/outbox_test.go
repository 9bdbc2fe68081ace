package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	box := outbox.New(outbox.Options{Capacity: 3, Now: func() time.Time { return at }})
	for i := range 5 {
		msg := &invite.Message{To: fmt.Sprintf("u%d@x.example", i%2), Subject: fmt.Sprint("s", i), Text: "t", HTML: "h"}
		if err := box.Send(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
		msg.Subject = "changed after Send" // the outbox keeps its own copy
	}
	got := box.List()
	if len(got) != 3 || got[0].Seq != 5 || got[2].Seq != 3 || got[0].Message.Subject != "s4" || !got[0].At.Equal(at) {
		t.Fatalf("List = %+v", got)
	}
	if to := box.To("U1@X.example"); len(to) != 1 || to[0].Seq != 4 {
		t.Fatalf("To = %+v", to)
	}
	box.Clear()
	if len(box.List()) != 0 {
		t.Fatal("Clear kept messages")
	}
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
		if err := box.Send(t.Context(), msg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := box.Send(ctx, &invite.Message{To: "a@x.example"}); err == nil {
		t.Error("cancelled context: accepted")
	}
	if n := len(box.List()); n != 0 {
		t.Fatalf("refused messages kept: %d", n)
	}
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
	if n := len(box.List()); n != 400 {
		t.Fatalf("%d messages, want 400", n)
	}
}

func ExampleOutbox() {
	box := outbox.New(outbox.Options{})
	_ = box.Send(context.Background(), &invite.Message{To: "admin@contoso.example", Subject: "Connect your tenant"})
	for _, e := range box.List() {
		fmt.Println(e.Seq, e.Message.To, e.Message.Subject)
	}
	// Output: 1 admin@contoso.example Connect your tenant
}
