package httpapi

import "net/http"

// setPageHeaders sets the security headers every customer-facing page has:
// csp (no script at all, inline styles only, forms only to ourselves and
// the sign-in origins), no referrer (invitation links hold a secret), no
// framing, no caching.
func setPageHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
