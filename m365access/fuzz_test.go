package m365access

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseErrors feeds arbitrary bodies to the Entra and Graph error
// parsers: they must not panic, and the message must never echo the body.
func FuzzParseErrors(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS70008: x","error_codes":[70008]}`))
	f.Add(401, []byte(`{"error":{"code":"InvalidAuthenticationToken","message":"m"}}`))
	f.Add(429, []byte(`{"error_codes":[90055,50196]}`))
	f.Add(500, []byte(`not json`))
	f.Add(400, []byte(`{"error":"SECRETSECRET","error_codes":[-1]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseEntraError("op", "c", status, nil, body)
		g := ParseGraphError("op", "c", status, nil, body)
		for _, msg := range []string{e.Error(), g.Error()} {
			if len(body) > 40 {
				require.NotContains(t, msg, string(body), "the message echoes the body")
			}
		}
		_ = e.State()
		_ = g.State()
	})
}

// FuzzVerifyIDToken feeds arbitrary tokens to the id_token verifier and
// the access token decoder: nothing unsigned passes, and no error quotes
// the token.
func FuzzVerifyIDToken(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJub25jZSI6Im4iLCJ0aWQiOiJ0In0.")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJub25jZSI6Im4ifQ.c2ln")
	f.Add("a.b.c")
	f.Add("")
	v := newVerifierEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.m.verifyIDToken(t.Context(), v.ep, raw, testTenant, "n")
		require.Error(t, err, "an arbitrary token verified: %+v", c)
		if len(raw) > 8 {
			require.NotContains(t, err.Error(), raw, "the error quotes the token")
		}
	})
}
