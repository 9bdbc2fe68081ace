package outbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/invite"
)

// DefaultCapacity is how many messages an Outbox keeps when Options.Capacity
// is zero.
const DefaultCapacity = 1000

// Options configures an Outbox. The zero value is ready to use.
type Options struct {
	// Capacity is how many messages are kept; the oldest are dropped first.
	// Default: DefaultCapacity.
	Capacity int
	// Now is the clock for Entry.At. Default: time.Now.
	Now func() time.Time
}

// Entry is one message the Outbox received.
type Entry struct {
	// Seq numbers the messages of this Outbox from 1, in arrival order.
	Seq int64
	// At is when Send received it.
	At time.Time
	// Message is a copy of what was sent.
	Message invite.Message
}

// Outbox is an invite.Mailer that keeps the messages in memory. It is safe
// for concurrent use.
type Outbox struct {
	mu       sync.Mutex
	capacity int
	now      func() time.Time
	seq      int64
	entries  []Entry // oldest first, at most capacity
}

// New returns an empty Outbox.
func New(opts Options) *Outbox {
	o := &Outbox{capacity: opts.Capacity, now: opts.Now}
	if o.capacity <= 0 {
		o.capacity = DefaultCapacity
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

var _ invite.Mailer = (*Outbox)(nil)

// Send keeps a copy of msg. Like a real mailer it refuses a message without
// recipient or with line breaks in a header field.
func (o *Outbox) Send(ctx context.Context, msg *invite.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if msg == nil || msg.To == "" {
		return errors.New("outbox: message has no recipient")
	}
	for _, h := range [...]string{msg.To, msg.ReplyTo, msg.Subject, msg.Language} {
		if strings.ContainsAny(h, "\r\n") {
			return errors.New("outbox: line break in a header field")
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.entries = append(o.entries, Entry{Seq: o.seq, At: o.now(), Message: *msg})
	if n := len(o.entries); n > o.capacity {
		o.entries = append(o.entries[:0], o.entries[n-o.capacity:]...)
	}
	return nil
}

// List returns the kept messages, newest first.
func (o *Outbox) List() []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Entry, len(o.entries))
	for i, e := range o.entries {
		out[len(o.entries)-1-i] = e
	}
	return out
}

// To returns the kept messages to one address (compared case-insensitively),
// newest first.
func (o *Outbox) To(addr string) []Entry {
	var out []Entry
	for _, e := range o.List() {
		if strings.EqualFold(e.Message.To, addr) {
			out = append(out, e)
		}
	}
	return out
}

// Clear drops every kept message.
func (o *Outbox) Clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.entries = nil
}
