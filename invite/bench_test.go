package invite_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/invite"
)

func unlimited(o *invite.Options) {
	o.RateLimits = invite.RateLimits{
		PerCustomer:    invite.Limit{Count: -1},
		PerRecipient:   invite.Limit{Count: -1},
		RedeemFailures: invite.Limit{Count: -1},
	}
}

// BenchmarkSend: validate, render both parts, store invitation and index,
// mail into the outbox, record the send, supersede the previous one.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, unlimited)
	i := 0
	for b.Loop() {
		// A fresh customer per send keeps supersede's List at one record.
		_, err := e.svc.Send(b.Context(), request(fmt.Sprint("c", i), "admin@contoso.example"))
		require.NoError(b, err)
		i++
		if i%1000 == 0 {
			e.box.Clear()
		}
	}
}

// BenchmarkRedeem: parse, hash, index lookup, record read, constant-time
// compare, on an already opened invitation (no write).
func BenchmarkRedeem(b *testing.B) {
	e := newEnv(b, unlimited)
	inv, err := e.svc.Send(b.Context(), request("c1", "admin@contoso.example"))
	require.NoError(b, err)
	token := linkRE.FindStringSubmatch(e.box.List()[0].Message.Text)[1]
	for b.Loop() {
		got, err := e.svc.Redeem(b.Context(), token, "ip")
		require.NoError(b, err)
		require.Equal(b, inv.ID, got.ID, "redeemed invitation")
	}
}

// BenchmarkRedeemUnknown: the cost of a guess (rejected at the index).
func BenchmarkRedeemUnknown(b *testing.B) {
	e := newEnv(b, unlimited)
	for b.Loop() {
		_, err := e.svc.Redeem(b.Context(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ip")
		require.Error(b, err, "accepted")
	}
}

func BenchmarkRender(b *testing.B) {
	tpl := invite.DefaultTemplates()
	d := goldenData()
	for b.Loop() {
		_, _, _, err := tpl.Render(d)
		require.NoError(b, err)
	}
}
