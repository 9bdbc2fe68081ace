package events_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Graph answered 503 Service Unavailable", "Graph answered 503 Service Unavailable"},
		{"see https://login.microsoftonline.com/error?code=50076 for help", "see [link] for help"},
		{"bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl rejected", "bearer [redacted] rejected"},
		{"secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw was refused", "secret [redacted] was refused"},
		{"client secret 0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w~ expired", "client secret [redacted] expired"},
		{"line one\nline two\ttabbed", "line one line two tabbed"},
		{"Internationalization is a long ordinary word", "Internationalization is a long ordinary word"},
		{strings.Repeat("é", 400), strings.Repeat("é", 150) + "…"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, events.Scrub(c.in), "Scrub(%q)", c.in)
	}
}

var tokenRun = regexp.MustCompile(`[A-Za-z0-9+/_\-.~=]{24,}`)

func FuzzScrub(f *testing.F) {
	f.Add("see https://example.com/x?token=abc for more")
	f.Add("AADSTS50076 code=0.AAAAabcdefghijklmnopqrstuvwxyz0123456789")
	f.Fuzz(func(t *testing.T, s string) {
		out := events.Scrub(s)
		require.LessOrEqual(t, len(out), events.MaxErrorLen+len("…"), "Scrub kept too many bytes")
		require.NotContains(t, out, "://", "Scrub kept a link")
		for _, run := range tokenRun.FindAllString(out, -1) {
			require.Empty(t, strings.Trim(run, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), "Scrub kept a token-shaped run %q", run)
		}
	})
}
