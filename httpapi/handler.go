package httpapi

import (
	"context"
	"net/http"
)

// Handler is what New, NewAdmin and NewWizard return: an http.Handler
// plus Close, which drains the background sync runs at shutdown:
//
//	h, err := httpapi.New(cfg)
//	...
//	defer h.Close(ctx) // before the Store closes
type Handler struct {
	h    http.Handler
	runs *syncRuns
}

// ServeHTTP serves r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.h.ServeHTTP(w, r)
}

// Close stops background work: new sync runs are refused (503,
// shutting_down), running ones are cancelled, and Close waits until each
// has recorded its final state (failed with code "cancelled", never left
// running) in the Store. It returns ctx's error, wrapped, when ctx ends
// first. Close the Store only after Close returns. Requests other than
// starting a sync are still served; Close is safe to call more than once.
func (h *Handler) Close(ctx context.Context) error {
	if h.runs == nil { // a wizard: no background work
		return nil
	}
	return h.runs.close(ctx)
}

// New returns one handler serving both the admin API (NewAdmin) and the
// wizard pages (NewWizard). Mount it under any prefix with
// http.StripPrefix; the Manager's public base URL
// (m365access.ProviderConfig.PublicBaseURL) must name that mount point.
// Call its Close at shutdown.
func New(cfg Config) (*Handler, error) {
	a, err := newAdmin(cfg)
	if err != nil {
		return nil, err
	}
	wz, err := newWizard(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/customers/", a)
	mux.Handle("GET /openapi.json", a)
	mux.Handle("/", wz)
	return &Handler{h: mux, runs: a.runs}, nil
}

// NewAdmin returns the JSON admin API for the provider's admins: the routes
// under /customers/{customer}/ and GET /openapi.json. Every request is
// first checked by http.CrossOriginProtection, then by cfg.Authorizer.
// It returns an error when cfg.Authorizer is nil. Call its Close at
// shutdown.
func NewAdmin(cfg Config) (*Handler, error) {
	a, err := newAdmin(cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{h: a, runs: a.runs}, nil
}

// NewWizard returns the customer-facing invitation wizard: GET
// /invite/{token}, POST /invite/{token}/start, GET /auth/callback and GET
// /consent/callback. It needs no Authorizer: the invitation token, the
// sign-in state and a browser-binding cookie guard it. Mount it where the
// Manager's public base URL (m365access.ProviderConfig.PublicBaseURL)
// points. It runs no background work; its Close returns at once.
func NewWizard(cfg Config) (*Handler, error) {
	w, err := newWizard(cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{h: w}, nil
}
