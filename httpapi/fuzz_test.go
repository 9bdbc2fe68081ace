package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeJSON feeds arbitrary bodies to the settings decoder: it never
// panics, answers every failure with a 4xx problem of a stable code, and
// never echoes control characters.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"tenant":"contoso.com","authMode":"token"}`, `{"tenant":`, `{"x":1}`, `{"tenant":1}`, `{} {}`, ``, `null`,
		`{"clientSecretExpiresAt":"not a time"}`, "{\"tenant\":\"a\x00b\"}", `[1,2,3]`, `{"userFilter":"UsageLocation -eq 'IT'"}`,
	} {
		f.Add([]byte(seed))
	}
	codes := map[string]bool{"unsupported_media_type": true, "body_too_large": true, "malformed_json": true, "invalid_field": true, "empty_body": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("PUT", "/customers/a/m365", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		var dst settingsUpdateJSON
		p := decodeJSON(httptest.NewRecorder(), r, &dst)
		if p == nil {
			return
		}
		if p.Status < 400 || p.Status > 499 || !codes[p.Code] {
			t.Fatalf("problem %+v", p)
		}
		for _, c := range p.Detail {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control character in detail %q", p.Detail)
			}
		}
	})
}

// FuzzIfMatch: any header parses or is refused without panic, and every
// ETag this package writes reads back as its version.
func FuzzIfMatch(f *testing.F) {
	for _, seed := range []string{`"1"`, `W/"42"`, `*`, `""`, `"-1"`, `"99999999999999999999"`, ` "7" `} {
		f.Add(seed, int64(3))
	}
	f.Fuzz(func(t *testing.T, h string, v int64) {
		r := httptest.NewRequest("PUT", "/", nil)
		r.Header.Set("If-Match", h)
		if got, ok := ifMatch(r); ok && got < 0 {
			t.Fatalf("ifMatch(%q) = %d", h, got)
		}
		if v > 0 {
			r.Header.Set("If-Match", etag(v))
			if got, ok := ifMatch(r); !ok || got != v {
				t.Fatalf("etag(%d) reads back as %d, %v", v, got, ok)
			}
		}
	})
}
