package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// ErrUnauthenticated is what an Authorizer wraps to answer 401 rather than 403.
var ErrUnauthenticated = errors.New("httpapi: unauthenticated")

// Problem is an RFC 9457 problem details body (application/problem+json).
// Code is stable and meant for programs; Title and Detail are for people and
// never carry internal error text.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	// Action is what a person must do, from m365access.Action ("reInvite",
	// "grantConsent", ...), when one is known.
	Action string `json:"action,omitempty"`
	// Reason is the m365access.Reason of a rejected connection or consent.
	Reason string       `json:"reason,omitempty"`
	Fields []FieldError `json:"fields,omitempty"`

	retryAfter time.Duration
}

// FieldError names one bad input field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
