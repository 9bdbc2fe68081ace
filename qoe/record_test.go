package qoe

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndpointNames decodes session endpoints as Graph sends them: the
// current participantEndpoint.associatedIdentity (callRecord get
// reference, example 2), the deprecated identity.user alone, and both.
func TestEndpointNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json, want string
	}{
		{"associatedIdentity only", `{"associatedIdentity":{"id":"821809f5","displayName":"Abbie Wilkins","tenantId":"dc36","userPrincipalName":"abbie@contoso.com"}}`, "Abbie Wilkins"},
		{"associatedIdentity without name", `{"associatedIdentity":{"id":"821809f5","displayName":null}}`, "821809f5"},
		{"deprecated identity only", `{"identity":{"user":{"id":"f69e2c00","displayName":"Owen Franklin"}}}`, "Owen Franklin"},
		{"both: associatedIdentity wins", `{"identity":{"user":{"id":"x","displayName":"Old"}},"associatedIdentity":{"id":"y","displayName":"New"}}`, "New"},
		{"neither", `{"userAgent":{"platform":"windows"}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e graphEndpoint
			require.NoError(t, json.Unmarshal([]byte(tc.json), &e))
			assert.Equal(t, tc.want, e.name())
		})
	}
}
