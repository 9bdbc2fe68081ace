package fleet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tenantgate/tenantgate/m365access"
)

// TestActionForConnectionStates: every failing connection state needs a
// person, consentPropagating included (issue 26: it was missing from
// "needs action").
func TestActionForConnectionStates(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		st   m365access.Status
		want string
	}{
		{m365access.Status{State: m365access.StateConsentRequired}, "grantConsent"},
		{m365access.Status{State: m365access.StateConsentPropagating}, "confirmConsent"},
		{m365access.Status{State: m365access.StateNotConnected, Mode: m365access.ModeToken}, "sendInvitation"},
		{m365access.Status{State: m365access.StateConnected, LastValidationOK: true}, ""},
	} {
		assert.Equal(t, tc.want, actionFor(tc.st, nil, now), string(tc.st.State))
	}
}
