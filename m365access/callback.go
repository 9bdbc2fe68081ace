package m365access

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// CompleteCallback finishes the token connection from the redirect's
// query parameters. An error answer (the user cancelled, MFA or
// Conditional Access blocked the sign-in) is checked first: it consumes
// the transaction and returns an *Error carrying the AADSTS code Entra
// put at the start of error_description and its action. Otherwise it is
// Complete(state, code).
func (m *Manager) CompleteCallback(ctx context.Context, q url.Values, browserBinding string) (*Connection, error) {
	state := q.Get("state")
	if oauthErr := q.Get("error"); oauthErr != "" {
		p, perr := m.takePending(ctx, flowSignIn, state, browserBinding)
		if perr != nil {
			return nil, perr
		}
		e := CallbackError(q)
		e.Customer = p.Customer
		m.recordAttempt(ctx, p.Customer, "sign in", e)
		return nil, e
	}
	return m.Complete(ctx, state, q.Get("code"), browserBinding)
}

// CallbackError classifies the error answer of a sign-in redirect (its
// error and error_description parameters) without touching any
// transaction: an *Error with the OAuth error, the AADSTS code Entra put
// at the start of error_description and its action. It returns nil when
// q carries no error. [Manager.CompleteCallback] records the same error
// in the customer's Status.
func CallbackError(q url.Values) *Error {
	oauthErr := q.Get("error")
	if oauthErr == "" {
		return nil
	}
	e := &Error{Op: "sign in", OAuthError: clip(safeToken(oauthErr))}
	if code, ok := aadstsPrefix(q.Get("error_description")); ok {
		e.Codes = []int{code}
	}
	e.classify()
	if e.Action == ActionNone {
		e.Action = ActionRestartConnection
	}
	return e
}

// aadstsPrefix reads the code of an error_description that starts with
// "AADSTS<digits>:", as Entra's do.
func aadstsPrefix(desc string) (int, bool) {
	rest, ok := strings.CutPrefix(desc, "AADSTS")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ':')
	if end <= 0 || end > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil && n > 0
}
