package httpapi

import "net/http"

// pageCSP is the Content-Security-Policy of the customer-facing pages: no
// script at all, styles only from the page itself, forms only to ourselves
// (and the sign-in redirect that follows a POST).
const pageCSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setPageHeaders sets the security headers every customer-facing page has.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
