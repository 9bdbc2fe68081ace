package m365access

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseEntraErrorInactivity: an expired refresh token needs a new
// invitation, and the message says so without the server's text.
func TestParseEntraErrorInactivity(t *testing.T) {
	t.Parallel()
	body := []byte(`{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082]}`)
	e := parseEntraError("refresh token", "customer-42", 400, nil, body)
	assert.Equal(t, ActionReInvite, e.Action)
	assert.False(t, e.Retryable)
	assert.Equal(t, StateReauthorizationRequired, e.State())
	assert.Equal(t, `m365access: refresh token for customer "customer-42" failed (HTTP 400): invalid_grant AADSTS700082; action: reInvite`, e.Error())
}
