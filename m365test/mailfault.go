package m365test

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Codes of the sendMail failures [Server.SetMailFault] injects, as
// Exchange Online answers them through Graph. docs/fidelity.md says which
// statuses and texts are verified.
const (
	// MailFaultMailboxNotEnabled: 404 MailboxNotEnabledForRESTAPI, the
	// sender has no Exchange Online mailbox (unlicensed, inactive,
	// soft-deleted or on-premises).
	MailFaultMailboxNotEnabled = "MailboxNotEnabledForRESTAPI"
	// MailFaultAccessDenied: 403 ErrorAccessDenied, the app may not send
	// as the mailbox (no Mail.Send, or an application access policy
	// excludes the mailbox).
	MailFaultAccessDenied = "ErrorAccessDenied"
	// MailFaultInvalidRecipients: 400 ErrorInvalidRecipients, a recipient
	// does not resolve.
	MailFaultInvalidRecipients = "ErrorInvalidRecipients"
	// MailFaultQuotaExceeded: 403 ErrorQuotaExceeded, the sender's
	// mailbox is full.
	MailFaultQuotaExceeded = "ErrorQuotaExceeded"
	// MailFaultSendAsDenied: 403 ErrorSendAsDenied, the account may not
	// send as the From address.
	MailFaultSendAsDenied = "ErrorSendAsDenied"
	// MailFaultThrottled: 429 ApplicationThrottled ("Application is over
	// its MailboxConcurrency limit."), with Retry-After when
	// MailFault.RetryAfter is set and without it otherwise, as Exchange
	// often sends it.
	MailFaultThrottled = "ApplicationThrottled"
	// MailFaultMessageSizeExceeded: 400 ErrorMessageSizeExceeded, the
	// message is over the mailbox's size limit.
	MailFaultMessageSizeExceeded = "ErrorMessageSizeExceeded"
)

// mailFaultAnswers are the status and message of each code.
var mailFaultAnswers = map[string]struct {
	status int
	msg    string
}{
	MailFaultMailboxNotEnabled:   {http.StatusNotFound, "The mailbox is either inactive, soft-deleted, or is hosted on-premise."},
	MailFaultAccessDenied:        {http.StatusForbidden, "Access is denied. Check credentials and try again."},
	MailFaultInvalidRecipients:   {http.StatusBadRequest, "At least one recipient is not valid., Recipient is not resolved. All recipients must be resolved before a message can be submitted."},
	MailFaultQuotaExceeded:       {http.StatusForbidden, "Mailbox has exceeded maximum mailbox size."},
	MailFaultSendAsDenied:        {http.StatusForbidden, "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message."},
	MailFaultThrottled:           {http.StatusTooManyRequests, "Application is over its MailboxConcurrency limit."},
	MailFaultMessageSizeExceeded: {http.StatusBadRequest, "The message exceeds the maximum supported size., Cannot save changes made to an item to store."},
}

// MailFault makes sendMail from one mailbox fail as Exchange Online does.
type MailFault struct {
	// Code is one of the MailFault* codes.
	Code string
	// Times is how many sendMail calls fail before the mailbox works
	// again; zero fails every call until [Server.ClearMailFault].
	Times int
	// RetryAfter is the Retry-After of MailFaultThrottled answers; zero
	// sends none.
	RetryAfter time.Duration
}

type mailFaultState struct {
	f    MailFault
	left int // calls still failing; -1: every call
}

func mailFaultKey(tenantID, userID string) string {
	return strings.ToLower(tenantID) + "/" + strings.ToLower(userID)
}

// SetMailFault makes sendMail from the tenant's mailbox (user principal
// name or object ID) fail with f: per mailbox, whichever app sends, after
// the caller was authenticated and authorized. The demo data is not
// changed.
func (s *Server) SetMailFault(tenant, mailbox string, f MailFault) error {
	ans, ok := mailFaultAnswers[f.Code]
	if !ok {
		return fmt.Errorf("m365test: SetMailFault: unknown code %q", f.Code)
	}
	if f.Times < 0 || f.RetryAfter < 0 || (f.RetryAfter > 0 && ans.status != http.StatusTooManyRequests) {
		return fmt.Errorf("m365test: SetMailFault: Times and RetryAfter must not be negative, RetryAfter only for %s", MailFaultThrottled)
	}
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: SetMailFault: unknown tenant %q", tenant)
	}
	u, ok := t.dir.User(mailbox)
	if !ok {
		return fmt.Errorf("m365test: SetMailFault: no user %q in tenant %s", mailbox, t.ID)
	}
	st := &mailFaultState{f: f, left: f.Times}
	if f.Times == 0 {
		st.left = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mailFaults == nil {
		s.mailFaults = map[string]*mailFaultState{}
	}
	s.mailFaults[mailFaultKey(t.ID, u.ID)] = st
	return nil
}

// ClearMailFault ends the sendMail fault of the tenant's mailbox.
func (s *Server) ClearMailFault(tenant, mailbox string) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return
	}
	u, ok := t.dir.User(mailbox)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mailFaults, mailFaultKey(t.ID, u.ID))
}

// mailFault returns the answer of an injected fault for a sendMail from
// user userID of tenant, counting the call; nil when it is to succeed.
func (s *Server) mailFault(tenantID, userID string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := mailFaultKey(tenantID, userID)
	st := s.mailFaults[k]
	if st == nil {
		return nil
	}
	if st.left > 0 {
		st.left--
		if st.left == 0 {
			delete(s.mailFaults, k)
		}
	}
	ans := mailFaultAnswers[st.f.Code]
	return &graphError{status: ans.status, code: st.f.Code, msg: ans.msg, retryAfter: st.f.RetryAfter}
}
