package graphmail_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/graphmail"
	"github.com/tenantgate/tenantgate/m365test"
)

// TestSendMailFaults: each refusal Exchange Online sends through Graph
// becomes a SendError with its reason and the action a person must take;
// the invitation is kept, failed, with the reason in its Failure. Only
// throttling is retried (here MaxRetries 0, so each code costs one call;
// retries are tested in retry_internal_test.go).
func TestSendMailFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      string
		status    int
		reason    graphmail.Reason
		action    string // in Action, and in the invitation's Failure
		retryable bool
	}{
		{m365test.MailFaultMailboxNotEnabled, 404, graphmail.ReasonMailbox, "license or enable it", false},
		{m365test.MailFaultAccessDenied, 403, graphmail.ReasonPermission, "Mail.Send", false},
		{m365test.MailFaultInvalidRecipients, 400, graphmail.ReasonRecipient, "fix the address", false},
		{m365test.MailFaultQuotaExceeded, 403, graphmail.ReasonQuota, "is full", false},
		{m365test.MailFaultSendAsDenied, 403, graphmail.ReasonSendAs, "Send As", false},
		{m365test.MailFaultMessageSizeExceeded, 400, graphmail.ReasonMessageSize, "size limit", false},
		{m365test.MailFaultThrottled, 429, graphmail.ReasonThrottled, "send again later", true},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := newFixture(t, []string{"Mail.Send"}, sender)
			m, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: sender, Transport: f.srv.Transport(), MaxRetries: -1})
			require.NoError(t, err)
			require.NoError(t, f.srv.SetMailFault(f.tenant.ID, sender, m365test.MailFault{Code: tc.code}))
			svc := newService(t, m)
			inv, err := svc.Send(t.Context(), req)
			var se *graphmail.SendError
			var de *invite.DeliveryError
			require.ErrorAs(t, err, &de)
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.status, se.StatusCode, "SendError %+v", se)
			assert.Equal(t, tc.code, se.Code, "SendError %+v", se)
			assert.Equal(t, tc.reason, se.Reason, "SendError %+v", se)
			assert.Equal(t, tc.retryable, se.Retryable, "SendError %+v", se)
			assert.Equal(t, 1, se.Attempts, "SendError %+v", se)
			assert.Equal(t, tc.retryable, se.Action == "", "action %q: a retryable error has none", se.Action)
			assert.Contains(t, se.Error(), tc.action)
			got, err := svc.Get(t.Context(), req.Customer, inv.ID)
			require.NoError(t, err)
			assert.Equal(t, invite.StatusFailed, got.Status, "stored invitation")
			assert.Contains(t, got.Failure, tc.code, "stored invitation")
			assert.Contains(t, got.Failure, tc.action, "stored invitation")
			assert.Empty(t, f.srv.SentMail(), "messages sent")
		})
	}
}

// TestSendMailThrottledThenSent: a throttled mailbox (one 429 without
// Retry-After, one with) is retried and the invitation goes out once.
func TestSendMailThrottledThenSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	m, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: sender, Transport: f.srv.Transport(), RetryDelay: time.Second})
	require.NoError(t, err)
	require.NoError(t, f.srv.SetMailFault(f.tenant.ID, sender, m365test.MailFault{Code: m365test.MailFaultThrottled, Times: 1}))
	svc := newService(t, m)
	inv, err := svc.Send(t.Context(), req)
	require.NoError(t, err, "Send after one throttled call")
	require.Equal(t, invite.StatusPending, inv.Status, "Send after one throttled call")
	require.Len(t, f.srv.SentMail(), 1, "Send after one throttled call")
	assert.Equal(t, 2, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointSendMail}), "sendMail calls")
}

func TestSetMailFaultRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	for _, mf := range []m365test.MailFault{
		{Code: "ErrorNoSuchThing"},
		{Code: m365test.MailFaultQuotaExceeded, RetryAfter: time.Second},
		{Code: m365test.MailFaultThrottled, Times: -1},
	} {
		assert.Error(t, f.srv.SetMailFault(f.tenant.ID, sender, mf), "%+v accepted", mf)
	}
	assert.Error(t, f.srv.SetMailFault(f.tenant.ID, "nobody@fabrikam.onmicrosoft.com", m365test.MailFault{Code: m365test.MailFaultThrottled}),
		"unknown mailbox accepted")
}
