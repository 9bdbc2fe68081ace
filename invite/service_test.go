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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		require.Equal(t, invite.StatusPending, inv.Status, "after Send: %+v", inv)
		require.False(t, inv.SentAt.IsZero(), "after Send: SentAt: %+v", inv)
		require.True(t, inv.OpenedAt.IsZero(), "after Send: OpenedAt: %+v", inv)
		wantExpiry := start.Add(invite.DefaultTTL).UTC()
		assert.True(t, inv.ExpiresAt.Equal(wantExpiry), "ExpiresAt = %v, want %v", inv.ExpiresAt, wantExpiry)
		assert.Equal(t, "admin@contoso.example", inv.Recipient, "invitation fields: %+v", inv)
		assert.Equal(t, "Alice Admin", inv.SentBy, "invitation fields: %+v", inv)
		assert.Equal(t, "c1", inv.Customer, "invitation fields: %+v", inv)

		step(time.Minute)
		opened, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		require.NoError(t, err, "Redeem")
		require.Equal(t, inv.ID, opened.ID, "after Redeem: %+v", opened)
		require.Equal(t, invite.StatusOpened, opened.Status, "after Redeem: %+v", opened)
		require.True(t, opened.OpenedAt.Equal(start.Add(time.Minute).UTC()), "after Redeem: OpenedAt: %+v", opened)

		step(time.Minute)
		again, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		require.NoError(t, err, "second Redeem")
		require.Equal(t, invite.StatusOpened, again.Status, "second Redeem: %+v", again)
		require.True(t, again.OpenedAt.Equal(opened.OpenedAt), "second Redeem: %+v (OpenedAt must stay the first opening)", again)

		done, err := e.svc.Complete(ctx, "c1", inv.ID)
		require.NoError(t, err, "Complete")
		require.Equal(t, invite.StatusCompleted, done.Status, "Complete: %+v", done)
		require.True(t, done.CompletedAt.Equal(start.Add(2*time.Minute).UTC()), "Complete: CompletedAt: %+v", done)

		// Single use: the link opens nothing and cannot complete again.
		got, err := e.svc.Redeem(ctx, token, "203.0.113.7")
		wantErr(t, err, invite.ErrCompleted)
		assert.Equal(t, inv.ID, got.ID, "Redeem of a used link returns %+v, want the completed invitation", got)
		assert.Equal(t, invite.StatusCompleted, got.Status, "Redeem of a used link returns %+v, want the completed invitation", got)
		_, err = e.svc.Complete(ctx, "c1", inv.ID)
		wantErr(t, err, invite.ErrCompleted)
		_, err = e.svc.Revoke(ctx, "c1", inv.ID, "Bob")
		wantErr(t, err, invite.ErrCompleted)

		stored, err := e.svc.Get(ctx, "c1", inv.ID)
		require.NoError(t, err, "Get")
		require.Equal(t, invite.StatusCompleted, stored.Status, "Get: %+v", stored)
		require.True(t, stored.RevokedAt.IsZero(), "Get: RevokedAt: %+v", stored)
	})
}

func TestCompleteWithoutOpening(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	inv, token := e.send(t, request("c1", "admin@contoso.example"))
	_, err := e.svc.Complete(t.Context(), "c1", inv.ID)
	require.NoError(t, err)
	_, err = e.svc.Redeem(t.Context(), token, "ip")
	wantErr(t, err, invite.ErrCompleted)
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, opened := range []bool{false, true} {
		t.Run(map[bool]string{false: "pending", true: "opened"}[opened], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ctx := t.Context()
			inv, token := e.send(t, request("c1", "admin@contoso.example"))
			if opened {
				_, err := e.svc.Redeem(ctx, token, "ip")
				require.NoError(t, err)
			}
			rev, err := e.svc.Revoke(ctx, "c1", inv.ID, "Bob Admin")
			require.NoError(t, err, "Revoke")
			require.Equal(t, invite.StatusRevoked, rev.Status, "Revoke: %+v", rev)
			require.Equal(t, "Bob Admin", rev.RevokedBy, "Revoke: %+v", rev)
			require.False(t, rev.RevokedAt.IsZero(), "Revoke: RevokedAt: %+v", rev)
			got, err := e.svc.Redeem(ctx, token, "ip")
			wantErr(t, err, invite.ErrRevoked)
			assert.Equal(t, inv.ID, got.ID, "Redeem of a revoked link returns %+v", got)
			_, err = e.svc.Complete(ctx, "c1", inv.ID)
			wantErr(t, err, invite.ErrRevoked)
			// Revoking again changes nothing.
			again, err := e.svc.Revoke(ctx, "c1", inv.ID, "Carol")
			require.NoError(t, err, "second Revoke")
			require.Equal(t, "Bob Admin", again.RevokedBy, "second Revoke: %+v", again)
			require.True(t, again.RevokedAt.Equal(rev.RevokedAt), "second Revoke: RevokedAt: %+v", again)
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
		_, err := e.svc.Redeem(ctx, openedToken, "ip")
		require.NoError(t, err)

		step(time.Hour - time.Second)
		inv, err := e.svc.Get(ctx, "c1", pending.ID)
		require.NoError(t, err, "one second before expiry")
		require.Equal(t, invite.StatusPending, inv.Status, "one second before expiry: %+v", inv)

		step(time.Second)
		for _, c := range []struct {
			customer, id, token string
		}{{"c1", pending.ID, pendingToken}, {"c2", opened.ID, openedToken}} {
			inv, err := e.svc.Get(ctx, c.customer, c.id)
			require.NoError(t, err, "at expiry")
			require.Equal(t, invite.StatusExpired, inv.Status, "at expiry: %+v", inv)
			_, err = e.svc.Redeem(ctx, c.token, "ip")
			wantErr(t, err, invite.ErrExpired)
			_, err = e.svc.Complete(ctx, c.customer, c.id)
			wantErr(t, err, invite.ErrExpired)
			inv, err = e.svc.Revoke(ctx, c.customer, c.id, "Bob")
			require.NoError(t, err, "Revoke of an expired invitation")
			require.Equal(t, invite.StatusExpired, inv.Status, "Revoke of an expired invitation: %+v", inv)
			list, err := e.svc.List(ctx, c.customer)
			require.NoError(t, err, "List")
			require.Len(t, list, 1, "List: %+v", list)
			require.Equal(t, invite.StatusExpired, list[0].Status, "List: %+v", list)
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
		require.NoError(t, err)
		secondToken := tokenOf(t, e.box.List()[0].Message)
		require.NotEqual(t, firstToken, secondToken, "Resend reused the token")
		require.NotEqual(t, first.ID, second.ID, "Resend reused the ID")
		assert.Equal(t, first.Recipient, second.Recipient, "resent invitation: %+v", second)
		assert.Equal(t, first.CustomerName, second.CustomerName, "resent invitation: %+v", second)
		assert.Equal(t, first.Tenant, second.Tenant, "resent invitation: %+v", second)
		assert.Equal(t, "Bob Admin", second.SentBy, "resent invitation: %+v", second)
		old, err := e.svc.Get(ctx, "c1", first.ID)
		require.NoError(t, err, "old invitation after Resend")
		require.Equal(t, invite.StatusRevoked, old.Status, "old invitation after Resend: %+v", old)
		require.Equal(t, second.ID, old.SupersededBy, "old invitation after Resend: %+v", old)
		_, err = e.svc.Redeem(ctx, firstToken, "ip")
		wantErr(t, err, invite.ErrRevoked)
		inv, err := e.svc.Redeem(ctx, secondToken, "ip")
		require.NoError(t, err, "new link")
		require.Equal(t, second.ID, inv.ID, "new link: %+v", inv)

		// A plain Send supersedes as well: one live link per customer.
		third, _ := e.send(t, request("c1", "other@contoso.example"))
		list, err := e.svc.List(ctx, "c1")
		require.NoError(t, err)
		var ids []string
		live := 0
		for _, inv := range list {
			ids = append(ids, inv.ID)
			if inv.Status.Live() {
				live++
			}
		}
		require.Equal(t, []string{third.ID, second.ID, first.ID}, ids, "List order (newest first)")
		require.Equal(t, 1, live, "live invitations after a third Send: %+v", list)
		require.Equal(t, invite.StatusRevoked, list[1].Status, "after a third Send: %+v", list)
		require.Equal(t, third.ID, list[1].SupersededBy, "after a third Send: %+v", list)
		// Other customers are untouched.
		other, _ := e.send(t, request("c2", "admin@fabrikam.example"))
		inv, _ = e.svc.Get(ctx, "c1", third.ID)
		require.Equal(t, invite.StatusPending, inv.Status, "a send for c2 touched c1: %+v (c2: %s)", inv, other.ID)
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
			assert.Empty(t, inv.ID, "an invalid token returned invitation %+v", inv)
		})
	}
	_, err := e.svc.Redeem(t.Context(), valid, "ip")
	require.NoError(t, err, "the valid token stopped working")
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
		require.ErrorAs(t, err, &rl, "4th guess: want a redeem RateLimitError retrying in 4m")
		require.Equal(t, invite.ScopeRedeem, rl.Scope, "4th guess: %+v", rl)
		require.Equal(t, 4*time.Minute, rl.RetryAfter, "4th guess: %+v", rl)
		_, err = e.svc.Redeem(ctx, "short", "198.51.100.1")
		require.ErrorAs(t, err, &rl, "malformed guess past the limit: want a RateLimitError")
		// ...but its real link is never throttled: junk from a shared
		// address must not lock the customer out.
		for range 5 {
			_, err := e.svc.Redeem(ctx, token, "198.51.100.1")
			require.NoError(t, err, "valid link from the limited client")
		}
		// Another client is not affected.
		_, err = e.svc.Redeem(ctx, wrong, "198.51.100.2")
		require.ErrorIs(t, err, invite.ErrInvalidToken, "other client")
		step(rl.RetryAfter)
		_, err = e.svc.Redeem(ctx, wrong, "198.51.100.1")
		require.ErrorIs(t, err, invite.ErrInvalidToken, "after RetryAfter: want ErrInvalidToken again")
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
			_, err := e.svc.Start(ctx, token, fmt.Sprint("198.51.100.", i))
			require.NoError(t, err, "start %d", i)
		}
		// From any address: the bound is the invitation's.
		inv, err := e.svc.Start(ctx, token, "203.0.113.9")
		var rl *invite.RateLimitError
		require.ErrorAs(t, err, &rl, "4th start: %+v", inv)
		require.Equal(t, invite.ScopeStart, rl.Scope, "4th start: %+v", rl)
		require.Equal(t, 10*time.Minute, rl.RetryAfter, "4th start: %+v", rl)
		require.Equal(t, "c1", inv.Customer, "4th start: %+v", inv)
		// Landing pages (Redeem) and other invitations still work.
		_, err = e.svc.Redeem(ctx, token, "203.0.113.9")
		require.NoError(t, err, "Redeem past the start limit")
		_, err = e.svc.Start(ctx, other, "203.0.113.9")
		require.NoError(t, err, "other invitation")
		step(10 * time.Minute)
		_, err = e.svc.Start(ctx, token, "203.0.113.9")
		require.NoError(t, err, "after the window")
		// Start of an unknown link is a guess like Redeem's.
		_, err = e.svc.Start(ctx, strings.Repeat("B", 43), "203.0.113.9")
		require.ErrorIs(t, err, invite.ErrInvalidToken, "unknown link")
	})
}

func TestLive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := t.Context()
		inv, token := e.send(t, request("c1", "admin@contoso.example"))
		require.NoError(t, e.svc.Live(ctx, "c1", inv.ID), "pending")
		_, err := e.svc.Redeem(ctx, token, "ip")
		require.NoError(t, err)
		require.NoError(t, e.svc.Live(ctx, "c1", inv.ID), "opened")
		require.ErrorIs(t, e.svc.Live(ctx, "c2", inv.ID), invite.ErrNotFound, "other customer")
		inv2, _ := e.send(t, request("c1", "admin@contoso.example")) // supersedes inv
		require.ErrorIs(t, e.svc.Live(ctx, "c1", inv.ID), invite.ErrRevoked, "superseded")
		step(invite.DefaultTTL + time.Second)
		require.ErrorIs(t, e.svc.Live(ctx, "c1", inv2.ID), invite.ErrExpired, "expired")
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
		require.ErrorAs(t, err, &rl, "3rd send for c1: want customer RateLimitError retrying in 50m")
		require.Equal(t, invite.ScopeCustomer, rl.Scope, "3rd send for c1: %+v", rl)
		require.Equal(t, 50*time.Minute, rl.RetryAfter, "3rd send for c1: %+v", rl)
		_, _, err = e.svc.Create(ctx, request("c1", ""))
		require.ErrorAs(t, err, &rl, "Create past the customer limit")
		require.Len(t, e.box.List(), 2, "messages sent")
		list, _ := e.svc.List(ctx, "c1")
		require.Len(t, list, 2, "refused sends stored invitations")

		// Per recipient across customers, case-insensitively.
		e.send(t, request("c2", "a@contoso.example"))
		e.send(t, request("c3", "A@Contoso.Example"))
		_, err = e.svc.Send(ctx, request("c4", "a@contoso.example"))
		require.ErrorAs(t, err, &rl, "4th send to a@")
		require.Equal(t, invite.ScopeRecipient, rl.Scope, "4th send to a@: %+v", rl)
		require.Equal(t, 60*time.Minute-10*time.Minute, rl.RetryAfter, "4th send to a@: %+v", rl)
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
			t.Parallel()
			e := newEnv(t, nil)
			req := request("c1", "a@contoso.example")
			c.mod(&req)
			_, err := e.svc.Send(t.Context(), req)
			var ve *invite.ValidationError
			require.ErrorAs(t, err, &ve, "want a ValidationError on %s only", c.field)
			require.Len(t, ve.Fields, 1, "err = %v, want a ValidationError on %s only", err, c.field)
			require.Equal(t, c.field, ve.Fields[0].Field, "err = %v, want a ValidationError on %s only", err, c.field)
			require.Empty(t, e.box.List(), "messages sent for invalid input")
			list, err := e.svc.List(t.Context(), "c1")
			require.NoError(t, err, "List")
			require.Empty(t, list, "invalid input stored invitations")
		})
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, err := e.svc.Send(t.Context(), invite.SendRequest{CustomerName: "a\nb", Recipient: "x"})
	var ve *invite.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	require.Equal(t, "Customer,CustomerName,Recipient,SentBy", strings.Join(fields, ","), "fields")
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
		require.NoError(t, err)
		goodToken := tokenOf(t, fm.msgs[0])

		fm.err = boom
		step(time.Minute)
		inv, err := e.svc.Send(ctx, request("c1", "b@contoso.example"))
		var de *invite.DeliveryError
		require.ErrorAs(t, err, &de, "Send with a failing mailer: %+v", inv)
		require.ErrorIs(t, err, boom, "Send with a failing mailer: %+v", inv)
		require.Equal(t, inv.ID, de.InvitationID, "Send with a failing mailer: %+v", inv)
		require.NotEmpty(t, inv.ID, "Send with a failing mailer: %+v", inv)
		require.Equal(t, invite.StatusFailed, inv.Status, "failed invitation: %+v", inv)
		require.Equal(t, boom.Error(), inv.Failure, "failed invitation: %+v", inv)
		require.False(t, inv.FailedAt.IsZero(), "failed invitation: FailedAt: %+v", inv)
		require.True(t, inv.SentAt.IsZero(), "failed invitation: SentAt: %+v", inv)
		got, _ := e.svc.Get(ctx, "c1", inv.ID)
		require.Equal(t, invite.StatusFailed, got.Status, "stored status")
		// The link in the message that was never delivered does not work.
		_, err = e.svc.Redeem(ctx, tokenOf(t, fm.msgs[1]), "ip")
		wantErr(t, err, invite.ErrRevoked)
		_, err = e.svc.Complete(ctx, "c1", inv.ID)
		wantErr(t, err, invite.ErrRevoked)
		// The earlier invitation stays live: nothing superseded it.
		got, err = e.svc.Redeem(ctx, goodToken, "ip")
		require.NoError(t, err, "earlier invitation after a failed send")
		require.Equal(t, good.ID, got.ID, "earlier invitation after a failed send: %+v", got)
	})
}

func TestSendWithoutMailer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *invite.Options) { o.Mailer = nil })
	_, err := e.svc.Send(t.Context(), request("c1", "a@contoso.example"))
	require.Error(t, err, "Send without mailer")
	require.Contains(t, err.Error(), "Options.Mailer", "Send without mailer")
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	first, _ := e.send(t, request("c1", "a@contoso.example"))
	inv, link, err := e.svc.Create(ctx, invite.SendRequest{Customer: "c1", SentBy: "Alice"})
	require.NoError(t, err)
	m := linkRE.FindStringSubmatch(link)
	require.NotNil(t, m, "link %q is not %s/invite/{token}", link, baseURL)
	require.Equal(t, link, m[0], "link %q is not %s/invite/{token}", link, baseURL)
	require.Equal(t, invite.StatusPending, inv.Status, "created: %+v", inv)
	require.Empty(t, inv.Recipient, "created: %+v", inv)
	require.True(t, inv.SentAt.IsZero(), "created: SentAt: %+v", inv)
	require.Len(t, e.box.List(), 1, "Create sent mail")
	got, err := e.svc.Redeem(ctx, m[1], "ip")
	require.NoError(t, err, "Redeem created link")
	require.Equal(t, inv.ID, got.ID, "Redeem created link: %+v", got)
	old, _ := e.svc.Get(ctx, "c1", first.ID)
	require.Equal(t, invite.StatusRevoked, old.Status, "Create did not supersede: %+v", old)
	require.Equal(t, inv.ID, old.SupersededBy, "Create did not supersede: %+v", old)
	// An invitation without recipient cannot be resent.
	_, err = e.svc.Resend(ctx, "c1", inv.ID, "Alice")
	var ve *invite.ValidationError
	require.ErrorAs(t, err, &ve, "Resend without recipient")
	require.Equal(t, "Recipient", ve.Fields[0].Field, "Resend without recipient: %v", err)
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
			assert.Nil(t, svc, "a Service despite the error")
			var ve *invite.ValidationError
			require.ErrorAs(t, err, &ve, "want a ValidationError on %s", c.field)
			require.Equal(t, c.field, ve.Fields[0].Field, "err = %v, want a ValidationError on %s", err, c.field)
		})
	}
	// Trailing slashes do not double.
	e := newEnv(t, func(o *invite.Options) { o.PublicBaseURL = baseURL + "/" })
	_, link, err := e.svc.Create(t.Context(), invite.SendRequest{Customer: "c", SentBy: "A"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, baseURL+"/invite/"), "link = %q", link)
}

// TestNoSecretsAtRest checks that neither the token nor the link is stored
// and that the index is the SHA-256 of the token's bytes.
func TestNoSecretsAtRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	inv, token := e.send(t, request("c1", "a@contoso.example"))
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	recs, err := e.store.Scan(t.Context(), tokenstore.Key{}, 1000)
	require.NoError(t, err)
	require.Len(t, recs, 2, "want the invitation and its index")
	var sawIndex bool
	for _, rec := range recs {
		require.False(t, bytes.Contains(rec.Data, []byte(token)), "record %s holds the token", rec.Key)
		require.False(t, bytes.Contains(rec.Data, raw), "record %s holds the token's bytes", rec.Key)
		require.NotContains(t, rec.Name, token, "record %s holds the token", rec.Key)
		if rec.Kind == "invite.token" {
			sawIndex = true
			assert.Equal(t, hexHash(token), rec.Name, "index name: want hex SHA-256 of the token")
		}
	}
	require.True(t, sawIndex, "no token index record")
	// The admin view never carries the hash either.
	b, _ := json.Marshal(inv)
	require.NotContains(t, string(b), "tokenHash", "Invitation JSON carries the hash")
	require.NotContains(t, string(b), hexHash(token), "Invitation JSON carries the hash")
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
	require.NoError(t, err)
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
		assert.Contains(t, logs, c, "log lacks %q", c)
	}
	for _, secret := range []string{token, token3, link, "/invite/", hexHash(token), "a@contoso.example"} {
		assert.NotContains(t, logs, secret, "log contains %q", secret)
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
			if _, err := e.svc.Redeem(t.Context(), token, "ip"); err != nil {
				assert.ErrorIs(t, err, invite.ErrCompleted)
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
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, wins, "wins (used=%d)", used)
	require.Equal(t, 15, used, "used (wins=%d)", wins)
}

func TestPurge(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *invite.Options) { o.TTL = time.Hour })
		ctx := t.Context()
		done, doneToken := e.send(t, request("c1", "a@contoso.example"))
		_, err := e.svc.Complete(ctx, "c1", done.ID)
		require.NoError(t, err)
		step(time.Minute)
		_, revokedToken := e.send(t, request("c1", "a@contoso.example")) // pending
		step(2 * time.Hour)                                              // ... now expired
		live, liveToken := e.send(t, request("c1", "a@contoso.example"))
		e.send(t, request("c2", "a@fabrikam.example"))

		n, err := e.svc.Purge(ctx, "c1", time.Now().Add(time.Hour))
		require.NoError(t, err, "Purge")
		require.Equal(t, 2, n, "Purge: want 2 (the completed and the expired one)")
		list, _ := e.svc.List(ctx, "c1")
		require.Len(t, list, 1, "after Purge: %+v", list)
		require.Equal(t, live.ID, list[0].ID, "after Purge: %+v", list)
		for _, tok := range []string{doneToken, revokedToken} {
			_, err := e.svc.Redeem(ctx, tok, "ip")
			wantErr(t, err, invite.ErrInvalidToken)
		}
		_, err = e.svc.Redeem(ctx, liveToken, "ip")
		require.NoError(t, err, "live invitation after Purge")
		recs, _ := e.store.Scan(ctx, tokenstore.Key{}, 100)
		require.Len(t, recs, 4, "records left") // c1's live one, c2's, and their two index records
		// Only older than the cut-off.
		n, err = e.svc.Purge(ctx, "c2", time.Now().Add(-time.Hour))
		require.Equal(t, 0, n, "Purge of nothing")
		require.NoError(t, err, "Purge of nothing")
	})
}
