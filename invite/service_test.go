package invite_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/tokenstore"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := t.Context()
		start := time.Now()
		inv, token := e.send(t, request("c1", "admin@contoso.example"))
		if inv.Status != invite.StatusPending || inv.SentAt.IsZero() || !inv.OpenedAt.IsZero() {
			t.Fatalf("after Send: %+v", inv)
		}
		if got, want := inv.ExpiresAt, start.Add(invite.DefaultTTL).UTC(); !got.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", got, want)
		}
		if inv.Recipient != "admin@contoso.example" || inv.SentBy != "Alice Admin" || inv.Customer != "c1" {
			t.Errorf("invitation fields: %+v", inv)
		}

		step(time.Minute)
		opened, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		if err != nil {
			t.Fatalf("Redeem: %v", err)
		}
		if opened.ID != inv.ID || opened.Status != invite.StatusOpened || !opened.OpenedAt.Equal(start.Add(time.Minute).UTC()) {
			t.Fatalf("after Redeem: %+v", opened)
		}

		step(time.Minute)
		again, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		if err != nil || again.Status != invite.StatusOpened || !again.OpenedAt.Equal(opened.OpenedAt) {
			t.Fatalf("second Redeem: %+v, %v (OpenedAt must stay the first opening)", again, err)
		}

		done, err := e.svc.Complete(ctx, "c1", inv.ID)
		if err != nil || done.Status != invite.StatusCompleted || !done.CompletedAt.Equal(start.Add(2*time.Minute).UTC()) {
			t.Fatalf("Complete: %+v, %v", done, err)
		}

		// Single use: the link opens nothing and cannot complete again.
		got, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		wantErr(t, err, invite.ErrCompleted)
		if got.ID != inv.ID || got.Status != invite.StatusCompleted {
			t.Errorf("Redeem of a used link returns %+v, want the completed invitation", got)
		}
		_, err = e.svc.Complete(ctx, "c1", inv.ID)
		wantErr(t, err, invite.ErrCompleted)
		_, err = e.svc.Revoke(ctx, "c1", inv.ID, "Bob")
		wantErr(t, err, invite.ErrCompleted)

		stored, err := e.svc.Get(ctx, "c1", inv.ID)
		if err != nil || stored.Status != invite.StatusCompleted || !stored.RevokedAt.IsZero() {
			t.Fatalf("Get: %+v, %v", stored, err)
		}
	})
}

func TestCompleteWithoutOpening(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	inv, token := e.send(t, request("c1", "admin@contoso.example"))
	if _, err := e.svc.Complete(t.Context(), "c1", inv.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Redeem(t.Context(), token, "ip")
	wantErr(t, err, invite.ErrCompleted)
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, opened := range []bool{false, true} {
		t.Run(map[bool]string{false: "pending", true: "opened"}[opened], func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := t.Context()
			inv, token := e.send(t, request("c1", "admin@contoso.example"))
			if opened {
				if _, err := e.svc.Redeem(ctx, token, "ip"); err != nil {
					t.Fatal(err)
				}
			}
			rev, err := e.svc.Revoke(ctx, "c1", inv.ID, "Bob Admin")
			if err != nil || rev.Status != invite.StatusRevoked || rev.RevokedBy != "Bob Admin" || rev.RevokedAt.IsZero() {
				t.Fatalf("Revoke: %+v, %v", rev, err)
			}
			got, err := e.svc.Redeem(ctx, token, "ip")
			wantErr(t, err, invite.ErrRevoked)
			if got.ID != inv.ID {
				t.Errorf("Redeem of a revoked link returns %+v", got)
			}
			_, err = e.svc.Complete(ctx, "c1", inv.ID)
			wantErr(t, err, invite.ErrRevoked)
			// Revoking again changes nothing.
			again, err := e.svc.Revoke(ctx, "c1", inv.ID, "Carol")
			if err != nil || again.RevokedBy != "Bob Admin" || !again.RevokedAt.Equal(rev.RevokedAt) {
				t.Fatalf("second Revoke: %+v, %v", again, err)
			}
		})
	}
}

func TestRevokeUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.svc.Revoke(t.Context(), "c1", "nope", "Bob")
	wantErr(t, err, invite.ErrNotFound)
	_, err = e.svc.Get(t.Context(), "c1", "nope")
	wantErr(t, err, invite.ErrNotFound)
	_, err = e.svc.Complete(t.Context(), "c1", "nope")
	wantErr(t, err, invite.ErrNotFound)
	inv, _ := e.send(t, request("c1", "admin@contoso.example"))
	_, err = e.svc.Get(t.Context(), "other-customer", inv.ID)
	wantErr(t, err, invite.ErrNotFound)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) { o.TTL = time.Hour })
		ctx := t.Context()
		pending, pendingToken := e.send(t, request("c1", "admin@contoso.example"))
		opened, openedToken := e.send(t, request("c2", "admin@fabrikam.example"))
		if _, err := e.svc.Redeem(ctx, openedToken, "ip"); err != nil {
			t.Fatal(err)
		}

		step(time.Hour - time.Second)
		if inv, err := e.svc.Get(ctx, "c1", pending.ID); err != nil || inv.Status != invite.StatusPending {
			t.Fatalf("one second before expiry: %+v, %v", inv, err)
		}

		step(time.Second)
		for _, c := range []struct {
			customer, id, token string
		}{{"c1", pending.ID, pendingToken}, {"c2", opened.ID, openedToken}} {
			inv, err := e.svc.Get(ctx, c.customer, c.id)
			if err != nil || inv.Status != invite.StatusExpired {
				t.Fatalf("at expiry: %+v, %v", inv, err)
			}
			_, err = e.svc.Redeem(ctx, c.token, "ip")
			wantErr(t, err, invite.ErrExpired)
			_, err = e.svc.Complete(ctx, c.customer, c.id)
			wantErr(t, err, invite.ErrExpired)
			if inv, err := e.svc.Revoke(ctx, c.customer, c.id, "Bob"); err != nil || inv.Status != invite.StatusExpired {
				t.Fatalf("Revoke of an expired invitation: %+v, %v", inv, err)
			}
			list, err := e.svc.List(ctx, c.customer)
			if err != nil || len(list) != 1 || list[0].Status != invite.StatusExpired {
				t.Fatalf("List: %+v, %v", list, err)
			}
		}
	})
}

func TestResendRevokesEarlierLink(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := t.Context()
		first, firstToken := e.send(t, request("c1", "admin@contoso.example"))
		step(time.Minute)
		second, err := e.svc.Resend(ctx, "c1", first.ID, "Bob Admin")
		if err != nil {
			t.Fatal(err)
		}
		secondToken := tokenOf(t, e.box.List()[0].Message)
		if secondToken == firstToken || second.ID == first.ID {
			t.Fatal("Resend reused the token or ID")
		}
		if second.Recipient != first.Recipient || second.CustomerName != first.CustomerName || second.Tenant != first.Tenant || second.SentBy != "Bob Admin" {
			t.Errorf("resent invitation: %+v", second)
		}
		old, err := e.svc.Get(ctx, "c1", first.ID)
		if err != nil || old.Status != invite.StatusRevoked || old.SupersededBy != second.ID {
			t.Fatalf("old invitation after Resend: %+v, %v", old, err)
		}
		_, err = e.svc.Redeem(ctx, firstToken, "ip")
		wantErr(t, err, invite.ErrRevoked)
		if inv, err := e.svc.Redeem(ctx, secondToken, "ip"); err != nil || inv.ID != second.ID {
			t.Fatalf("new link: %+v, %v", inv, err)
		}

		// A plain Send supersedes as well: one live link per customer.
		third, _ := e.send(t, request("c1", "other@contoso.example"))
		list, err := e.svc.List(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		live := 0
		for _, inv := range list {
			ids = append(ids, inv.ID)
			if inv.Status.Live() {
				live++
			}
		}
		if len(list) != 3 || list[0].ID != third.ID || list[1].ID != second.ID || list[2].ID != first.ID {
			t.Fatalf("List order (newest first) = %v", ids)
		}
		if live != 1 || list[1].Status != invite.StatusRevoked || list[1].SupersededBy != third.ID {
			t.Fatalf("after a third Send: %+v", list)
		}
		// Other customers are untouched.
		other, _ := e.send(t, request("c2", "admin@fabrikam.example"))
		if inv, _ := e.svc.Get(ctx, "c1", third.ID); inv.Status != invite.StatusPending {
			t.Fatalf("a send for c2 touched c1: %+v (c2: %s)", inv, other.ID)
		}
	})
}

func TestRedeemInvalidTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, valid := e.send(t, request("c1", "admin@contoso.example"))
	var raw [32]byte
	rand.Read(raw[:])
	unknown := base64.RawURLEncoding.EncodeToString(raw[:])
	// Same bytes, but the last character carries non-zero padding bits:
	// a non-canonical encoding must not be accepted as another spelling.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", valid[42])
	noncanon := valid[:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	for name, tok := range map[string]string{
		"empty":          "",
		"short":          valid[:42],
		"long":           valid + "A",
		"padded":         base64.URLEncoding.EncodeToString(raw[:]),
		"std alphabet":   strings.NewReplacer("-", "+", "_", "/").Replace(valid[:40]) + "+/A",
		"bad chars":      strings.Repeat("!", 43),
		"non-canonical":  noncanon,
		"unknown":        unknown,
		"with path":      "../" + valid[3:],
		"hash of valid":  hexHash(valid)[:43],
		"valid + space":  valid[:42] + " ",
		"unicode":        strings.Repeat("é", 21) + "A",
		"upper-cased":    strings.ToUpper(valid),
		"valid with nul": valid[:42] + "\x00",
	} {
		t.Run(name, func(t *testing.T) {
			if tok == strings.ToUpper(valid) && tok == valid {
				t.Skip("token has no lower-case letters")
			}
			inv, err := e.svc.Redeem(t.Context(), tok, "client-"+name)
			wantErr(t, err, invite.ErrInvalidToken)
			if inv.ID != "" {
				t.Errorf("an invalid token returned invitation %+v", inv)
			}
		})
	}
	if _, err := e.svc.Redeem(t.Context(), valid, "ip"); err != nil {
		t.Fatalf("the valid token stopped working: %v", err)
	}
}

func hexHash(token string) string {
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

func TestRedeemGuessLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) {
			o.RateLimits.RedeemFailures = invite.Limit{Count: 3, Per: 10 * time.Minute}
		})
		ctx := t.Context()
		_, token := e.send(t, request("c1", "admin@contoso.example"))
		wrong := strings.Repeat("A", 43)
		for i := range 3 {
			_, err := e.svc.Redeem(ctx, wrong, "198.51.100.1")
			wantErr(t, err, invite.ErrInvalidToken)
			step(time.Minute * time.Duration(i+1)) // guesses at 0, 1, 3 minutes
		}
		// At minute 6: the client's guesses are refused...
		_, err := e.svc.Redeem(ctx, wrong, "198.51.100.1")
		var rl *invite.RateLimitError
		if !errors.As(err, &rl) || rl.Scope != invite.ScopeRedeem || rl.RetryAfter != 4*time.Minute {
			t.Fatalf("4th guess: %v (%+v), want a redeem RateLimitError retrying in 4m", err, rl)
		}
		if _, err := e.svc.Redeem(ctx, "short", "198.51.100.1"); !errors.As(err, &rl) {
			t.Fatalf("malformed guess past the limit: %v, want a RateLimitError", err)
		}
		// ...but its real link is never throttled: junk from a shared
		// address must not lock the customer out.
		for range 5 {
			if _, err := e.svc.Redeem(ctx, token, "198.51.100.1"); err != nil {
				t.Fatalf("valid link from the limited client: %v", err)
			}
		}
		// Another client is not affected.
		if _, err := e.svc.Redeem(ctx, wrong, "198.51.100.2"); !errors.Is(err, invite.ErrInvalidToken) {
			t.Fatalf("other client: %v", err)
		}
		step(rl.RetryAfter)
		if _, err := e.svc.Redeem(ctx, wrong, "198.51.100.1"); !errors.Is(err, invite.ErrInvalidToken) {
			t.Fatalf("after RetryAfter: %v, want ErrInvalidToken again", err)
		}
	})
}

// Starts from one link are bounded: each stores a pending sign-in.
func TestStartPerInvitationLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) {
			o.RateLimits.StartsPerInvitation = invite.Limit{Count: 3, Per: 10 * time.Minute}
		})
		ctx := t.Context()
		_, token := e.send(t, request("c1", "admin@contoso.example"))
		_, other := e.send(t, request("c2", "admin@fabrikam.example"))
		for i := range 3 {
			if _, err := e.svc.Start(ctx, token, fmt.Sprint("198.51.100.", i)); err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
		}
		// From any address: the bound is the invitation's.
		inv, err := e.svc.Start(ctx, token, "203.0.113.9")
		var rl *invite.RateLimitError
		if !errors.As(err, &rl) || rl.Scope != invite.ScopeStart || rl.RetryAfter != 10*time.Minute || inv.Customer != "c1" {
			t.Fatalf("4th start: %+v, %v", inv, err)
		}
		// Landing pages (Redeem) and other invitations still work.
		if _, err := e.svc.Redeem(ctx, token, "203.0.113.9"); err != nil {
			t.Fatalf("Redeem past the start limit: %v", err)
		}
		if _, err := e.svc.Start(ctx, other, "203.0.113.9"); err != nil {
			t.Fatalf("other invitation: %v", err)
		}
		step(10 * time.Minute)
		if _, err := e.svc.Start(ctx, token, "203.0.113.9"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// Start of an unknown link is a guess like Redeem's.
		if _, err := e.svc.Start(ctx, strings.Repeat("B", 43), "203.0.113.9"); !errors.Is(err, invite.ErrInvalidToken) {
			t.Fatalf("unknown link: %v", err)
		}
	})
}

func TestLive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := t.Context()
		inv, token := e.send(t, request("c1", "admin@contoso.example"))
		if err := e.svc.Live(ctx, "c1", inv.ID); err != nil {
			t.Fatalf("pending: %v", err)
		}
		if _, err := e.svc.Redeem(ctx, token, "ip"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Live(ctx, "c1", inv.ID); err != nil {
			t.Fatalf("opened: %v", err)
		}
		if err := e.svc.Live(ctx, "c2", inv.ID); !errors.Is(err, invite.ErrNotFound) {
			t.Fatalf("other customer: %v", err)
		}
		inv2, _ := e.send(t, request("c1", "admin@contoso.example")) // supersedes inv
		if err := e.svc.Live(ctx, "c1", inv.ID); !errors.Is(err, invite.ErrRevoked) {
			t.Fatalf("superseded: %v", err)
		}
		step(invite.DefaultTTL + time.Second)
		if err := e.svc.Live(ctx, "c1", inv2.ID); !errors.Is(err, invite.ErrExpired) {
			t.Fatalf("expired: %v", err)
		}
	})
}

func TestSendRateLimits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) {
			o.RateLimits.PerCustomer = invite.Limit{Count: 2, Per: time.Hour}
			o.RateLimits.PerRecipient = invite.Limit{Count: 3, Per: time.Hour}
		})
		ctx := t.Context()
		e.send(t, request("c1", "a@contoso.example"))
		step(10 * time.Minute)
		e.send(t, request("c1", "b@contoso.example"))
		_, err := e.svc.Send(ctx, request("c1", "c@contoso.example"))
		var rl *invite.RateLimitError
		if !errors.As(err, &rl) || rl.Scope != invite.ScopeCustomer || rl.RetryAfter != 50*time.Minute {
			t.Fatalf("3rd send for c1: %v, want customer RateLimitError retrying in 50m", err)
		}
		_, _, err = e.svc.Create(ctx, request("c1", ""))
		if !errors.As(err, &rl) {
			t.Fatalf("Create past the customer limit: %v", err)
		}
		if n := len(e.box.List()); n != 2 {
			t.Fatalf("%d messages sent, want 2", n)
		}
		if list, _ := e.svc.List(ctx, "c1"); len(list) != 2 {
			t.Fatalf("refused sends stored invitations: %d", len(list))
		}

		// Per recipient across customers, case-insensitively.
		e.send(t, request("c2", "a@contoso.example"))
		e.send(t, request("c3", "A@Contoso.Example"))
		_, err = e.svc.Send(ctx, request("c4", "a@contoso.example"))
		if !errors.As(err, &rl) || rl.Scope != invite.ScopeRecipient || rl.RetryAfter != 60*time.Minute-10*time.Minute {
			t.Fatalf("4th send to a@: %v", err)
		}
		// A refused recipient does not use up the customer's budget.
		e.send(t, request("c4", "d@contoso.example"))
		e.send(t, request("c4", "e@contoso.example"))

		step(time.Hour)
		e.send(t, request("c1", "c@contoso.example"))
	})
}

func TestUnlimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *invite.Options) {
		o.RateLimits = invite.RateLimits{PerCustomer: invite.Limit{Count: -1}, PerRecipient: invite.Limit{Count: -1}}
	})
	for range 20 {
		e.send(t, request("c1", "a@contoso.example"))
	}
}

func TestHeaderInjectionAndBadInput(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		mod   func(*invite.SendRequest)
		field string
	}{
		{"CRLF recipient", func(r *invite.SendRequest) { r.Recipient = "a@contoso.example\r\nBcc: eve@evil.example" }, "Recipient"},
		{"LF recipient", func(r *invite.SendRequest) { r.Recipient = "a@contoso.example\nBcc: eve@evil.example" }, "Recipient"},
		{"display name", func(r *invite.SendRequest) { r.Recipient = "Admin <a@contoso.example>" }, "Recipient"},
		{"display name of another address", func(r *invite.SendRequest) { r.Recipient = `"a@contoso.example" <eve@evil.example>` }, "Recipient"},
		{"angle brackets", func(r *invite.SendRequest) { r.Recipient = "<a@contoso.example>" }, "Recipient"},
		{"two addresses", func(r *invite.SendRequest) { r.Recipient = "a@contoso.example, eve@evil.example" }, "Recipient"},
		{"comment", func(r *invite.SendRequest) { r.Recipient = "a@contoso.example (eve@evil.example)" }, "Recipient"},
		{"group", func(r *invite.SendRequest) { r.Recipient = "g: a@contoso.example, eve@evil.example;" }, "Recipient"},
		{"no domain", func(r *invite.SendRequest) { r.Recipient = "admin" }, "Recipient"},
		{"dotless domain", func(r *invite.SendRequest) { r.Recipient = "admin@contoso" }, "Recipient"},
		{"missing recipient", func(r *invite.SendRequest) { r.Recipient = "" }, "Recipient"},
		{"too long", func(r *invite.SendRequest) { r.Recipient = strings.Repeat("a", 250) + "@x.example" }, "Recipient"},
		{"CRLF customer name", func(r *invite.SendRequest) { r.CustomerName = "Contoso\r\nBcc: eve@evil.example" }, "CustomerName"},
		{"CR customer name", func(r *invite.SendRequest) { r.CustomerName = "Contoso\rX" }, "CustomerName"},
		{"LF tenant", func(r *invite.SendRequest) { r.Tenant = "contoso.onmicrosoft.com\nX-Evil: 1" }, "Tenant"},
		{"CRLF sent by", func(r *invite.SendRequest) { r.SentBy = "Alice\r\nSubject: pwned" }, "SentBy"},
		{"NEL sent by", func(r *invite.SendRequest) { r.SentBy = "Alice\u0085Bob" }, "SentBy"},
		{"NUL customer", func(r *invite.SendRequest) { r.Customer = "c\x00" }, "Customer"},
		{"missing customer", func(r *invite.SendRequest) { r.Customer = "" }, "Customer"},
		{"missing sender", func(r *invite.SendRequest) { r.SentBy = "" }, "SentBy"},
		{"invalid UTF-8", func(r *invite.SendRequest) { r.CustomerName = "Contoso \xff" }, "CustomerName"},
		{"long name", func(r *invite.SendRequest) { r.CustomerName = strings.Repeat("x", 257) }, "CustomerName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			req := request("c1", "a@contoso.example")
			c.mod(&req)
			_, err := e.svc.Send(t.Context(), req)
			var ve *invite.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != c.field {
				t.Fatalf("err = %v, want a ValidationError on %s only", err, c.field)
			}
			if n := len(e.box.List()); n != 0 {
				t.Fatalf("%d messages sent for invalid input", n)
			}
			if list, err := e.svc.List(t.Context(), "c1"); err != nil || len(list) != 0 {
				t.Fatalf("invalid input stored %d invitations (%v)", len(list), err)
			}
		})
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.svc.Send(t.Context(), invite.SendRequest{CustomerName: "a\nb", Recipient: "x"})
	var ve *invite.ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	if got := strings.Join(fields, ","); got != "Customer,CustomerName,Recipient,SentBy" {
		t.Fatalf("fields = %s", got)
	}
}

func TestFailingMailer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("smtp: 451 mailbox unavailable")
		fm := &failingMailer{}
		e := newEnv(t, func(o *invite.Options) { o.Mailer = fm })
		ctx := t.Context()

		// A live invitation sent while the mailer worked.
		good, err := e.svc.Send(ctx, request("c1", "a@contoso.example"))
		if err != nil {
			t.Fatal(err)
		}
		goodToken := tokenOf(t, fm.msgs[0])

		fm.err = boom
		step(time.Minute)
		inv, err := e.svc.Send(ctx, request("c1", "b@contoso.example"))
		var de *invite.DeliveryError
		if !errors.As(err, &de) || !errors.Is(err, boom) || de.InvitationID != inv.ID || inv.ID == "" {
			t.Fatalf("Send with a failing mailer: %+v, %v", inv, err)
		}
		if inv.Status != invite.StatusFailed || inv.Failure != boom.Error() || inv.FailedAt.IsZero() || !inv.SentAt.IsZero() {
			t.Fatalf("failed invitation: %+v", inv)
		}
		if got, _ := e.svc.Get(ctx, "c1", inv.ID); got.Status != invite.StatusFailed {
			t.Fatalf("stored status: %s", got.Status)
		}
		// The link in the message that was never delivered does not work.
		_, err = e.svc.Redeem(ctx, tokenOf(t, fm.msgs[1]), "ip")
		wantErr(t, err, invite.ErrRevoked)
		_, err = e.svc.Complete(ctx, "c1", inv.ID)
		wantErr(t, err, invite.ErrRevoked)
		// The earlier invitation stays live: nothing superseded it.
		if got, err := e.svc.Redeem(ctx, goodToken, "ip"); err != nil || got.ID != good.ID {
			t.Fatalf("earlier invitation after a failed send: %+v, %v", got, err)
		}
	})
}

func TestSendWithoutMailer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *invite.Options) { o.Mailer = nil })
	if _, err := e.svc.Send(t.Context(), request("c1", "a@contoso.example")); err == nil || !strings.Contains(err.Error(), "Options.Mailer") {
		t.Fatalf("Send without mailer: %v", err)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	first, _ := e.send(t, request("c1", "a@contoso.example"))
	inv, link, err := e.svc.Create(ctx, invite.SendRequest{Customer: "c1", SentBy: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	m := linkRE.FindStringSubmatch(link)
	if m == nil || m[0] != link {
		t.Fatalf("link %q is not %s/invite/{token}", link, baseURL)
	}
	if inv.Status != invite.StatusPending || inv.Recipient != "" || !inv.SentAt.IsZero() {
		t.Fatalf("created: %+v", inv)
	}
	if n := len(e.box.List()); n != 1 {
		t.Fatalf("Create sent mail: %d messages", n)
	}
	if got, err := e.svc.Redeem(ctx, m[1], "ip"); err != nil || got.ID != inv.ID {
		t.Fatalf("Redeem created link: %+v, %v", got, err)
	}
	if old, _ := e.svc.Get(ctx, "c1", first.ID); old.Status != invite.StatusRevoked || old.SupersededBy != inv.ID {
		t.Fatalf("Create did not supersede: %+v", old)
	}
	// An invitation without recipient cannot be resent.
	_, err = e.svc.Resend(ctx, "c1", inv.ID, "Alice")
	var ve *invite.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "Recipient" {
		t.Fatalf("Resend without recipient: %v", err)
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	store := newEnv(t, nil).store
	for _, c := range []struct {
		name  string
		opts  invite.Options
		field string
	}{
		{"no store", invite.Options{PublicBaseURL: baseURL}, "Store"},
		{"nil *outbox.Outbox", invite.Options{Store: store, Mailer: (*outbox.Outbox)(nil), PublicBaseURL: baseURL}, "Mailer"},
		{"no base", invite.Options{Store: store}, "PublicBaseURL"},
		{"relative", invite.Options{Store: store, PublicBaseURL: "/m365"}, "PublicBaseURL"},
		{"no host", invite.Options{Store: store, PublicBaseURL: "https:///x"}, "PublicBaseURL"},
		{"ftp", invite.Options{Store: store, PublicBaseURL: "ftp://portal.example.com"}, "PublicBaseURL"},
		{"javascript", invite.Options{Store: store, PublicBaseURL: "javascript:alert(1)"}, "PublicBaseURL"},
		{"userinfo", invite.Options{Store: store, PublicBaseURL: "https://u:p@portal.example.com"}, "PublicBaseURL"},
		{"query", invite.Options{Store: store, PublicBaseURL: "https://portal.example.com/?a=b"}, "PublicBaseURL"},
		{"fragment", invite.Options{Store: store, PublicBaseURL: "https://portal.example.com/#x"}, "PublicBaseURL"},
		{"space", invite.Options{Store: store, PublicBaseURL: "https://portal.example.com/a b"}, "PublicBaseURL"},
		{"negative TTL", invite.Options{Store: store, PublicBaseURL: baseURL, TTL: -time.Hour}, "TTL"},
		{"logo", invite.Options{Store: store, PublicBaseURL: baseURL, Branding: invite.Branding{LogoURL: "data:image/png;base64,AAAA"}}, "Branding.LogoURL"},
		{"provider CRLF", invite.Options{Store: store, PublicBaseURL: baseURL, Branding: invite.Branding{ProviderName: "X\r\nBcc: y@z.example"}}, "Branding.ProviderName"},
		{"support email", invite.Options{Store: store, PublicBaseURL: baseURL, Branding: invite.Branding{SupportEmail: "Help <h@x.example>"}}, "Branding.SupportEmail"},
		{"permission", invite.Options{Store: store, PublicBaseURL: baseURL, Permissions: []invite.Permission{{Name: "User.Read.All"}}}, "Permissions[0].Reason"},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, err := invite.New(c.opts)
			if svc != nil {
				t.Errorf("a Service despite the error")
			}
			var ve *invite.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != c.field {
				t.Fatalf("err = %v, want a ValidationError on %s", err, c.field)
			}
		})
	}
	// Trailing slashes do not double.
	e := newEnv(t, func(o *invite.Options) { o.PublicBaseURL = baseURL + "/" })
	_, link, err := e.svc.Create(t.Context(), invite.SendRequest{Customer: "c", SentBy: "A"})
	if err != nil || !strings.HasPrefix(link, baseURL+"/invite/") {
		t.Fatalf("link = %q, %v", link, err)
	}
}

// TestNoSecretsAtRest checks that neither the token nor the link is stored
// and that the index is the SHA-256 of the token's bytes.
func TestNoSecretsAtRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	inv, token := e.send(t, request("c1", "a@contoso.example"))
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	recs, err := e.store.Scan(t.Context(), tokenstore.Key{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want the invitation and its index", len(recs))
	}
	var sawIndex bool
	for _, rec := range recs {
		if bytes.Contains(rec.Data, []byte(token)) || bytes.Contains(rec.Data, raw) || strings.Contains(rec.Name, token) {
			t.Fatalf("record %s holds the token", rec.Key)
		}
		if rec.Kind == "invite.token" {
			sawIndex = true
			if rec.Name != hexHash(token) {
				t.Errorf("index name %s, want hex SHA-256 of the token", rec.Name)
			}
		}
	}
	if !sawIndex {
		t.Fatal("no token index record")
	}
	// The admin view never carries the hash either.
	b, _ := json.Marshal(inv)
	if bytes.Contains(b, []byte("tokenHash")) || bytes.Contains(b, []byte(hexHash(token))) {
		t.Fatalf("Invitation JSON carries the hash: %s", b)
	}
}

// TestLogsCarryNoSecrets runs every path that logs and checks that neither
// token nor link reaches the log.
func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	fm := &failingMailer{}
	e := newEnv(t, func(o *invite.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Mailer = fm
		o.RateLimits.RedeemFailures = invite.Limit{Count: 1, Per: time.Hour}
	})
	ctx := t.Context()
	inv, err := e.svc.Send(ctx, request("c1", "a@contoso.example"))
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, fm.msgs[0])
	e.svc.Redeem(ctx, token, "ip")
	e.svc.Complete(ctx, "c1", inv.ID)
	inv2, link, _ := e.svc.Create(ctx, invite.SendRequest{Customer: "c2", SentBy: "A"})
	e.svc.Revoke(ctx, "c2", inv2.ID, "B")
	fm.err = errors.New("refused: " + "mail")
	e.svc.Send(ctx, request("c3", "b@contoso.example"))
	token3 := tokenOf(t, fm.msgs[1])
	e.svc.Redeem(ctx, strings.Repeat("A", 43), "ip2")
	e.svc.Redeem(ctx, strings.Repeat("A", 43), "ip2") // past the guess limit
	e.svc.Redeem(ctx, token3, "ip2")

	logs := buf.String()
	for _, c := range []string{"invitation sent", "invitation opened", "invitation completed", "invitation revoked", "invitation mail failed", "invalid invitation link", "guess limit"} {
		if !strings.Contains(logs, c) {
			t.Errorf("log lacks %q", c)
		}
	}
	for _, secret := range []string{token, token3, link, "/invite/", hexHash(token), "a@contoso.example"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConcurrentComplete: of many racing Completes exactly one wins.
func TestConcurrentComplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	inv, token := e.send(t, request("c1", "a@contoso.example"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, used := 0, 0
	for range 16 {
		wg.Go(func() {
			if _, err := e.svc.Redeem(t.Context(), token, "ip"); err != nil && !errors.Is(err, invite.ErrCompleted) {
				t.Error(err)
			}
			_, err := e.svc.Complete(t.Context(), "c1", inv.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, invite.ErrCompleted):
				used++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || used != 15 {
		t.Fatalf("wins=%d used=%d, want 1 and 15", wins, used)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) { o.TTL = time.Hour })
		ctx := t.Context()
		done, doneToken := e.send(t, request("c1", "a@contoso.example"))
		if _, err := e.svc.Complete(ctx, "c1", done.ID); err != nil {
			t.Fatal(err)
		}
		step(time.Minute)
		_, revokedToken := e.send(t, request("c1", "a@contoso.example")) // pending
		step(2 * time.Hour)                                              // ... now expired
		live, liveToken := e.send(t, request("c1", "a@contoso.example"))
		e.send(t, request("c2", "a@fabrikam.example"))

		n, err := e.svc.Purge(ctx, "c1", time.Now().Add(time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("Purge = %d, %v; want 2 (the completed and the expired one)", n, err)
		}
		list, _ := e.svc.List(ctx, "c1")
		if len(list) != 1 || list[0].ID != live.ID {
			t.Fatalf("after Purge: %+v", list)
		}
		for _, tok := range []string{doneToken, revokedToken} {
			_, err := e.svc.Redeem(ctx, tok, "ip")
			wantErr(t, err, invite.ErrInvalidToken)
		}
		if _, err := e.svc.Redeem(ctx, liveToken, "ip"); err != nil {
			t.Fatalf("live invitation after Purge: %v", err)
		}
		recs, _ := e.store.Scan(ctx, tokenstore.Key{}, 100)
		if len(recs) != 4 { // c1's live one, c2's, and their two index records
			t.Fatalf("%d records left, want 4", len(recs))
		}
		// Only older than the cut-off.
		if n, err := e.svc.Purge(ctx, "c2", time.Now().Add(-time.Hour)); n != 0 || err != nil {
			t.Fatalf("Purge of nothing: %d, %v", n, err)
		}
	})
}
