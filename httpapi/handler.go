package httpapi

import (
	"context"
	"net/http"
)

// Handler is what New, NewAdmin and NewWizard return: an http.Handler
// plus Close, which stops it from starting background work at shutdown:
//
//	h, err := httpapi.New(cfg)
//	...
//	defer h.Close(ctx) // then stop the fleet, then close the Store
type Handler struct {
	h     http.Handler
	admin *admin
	wz    *wizard
}

// ServeHTTP serves r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.h.ServeHTTP(w, r)
}

// Close refuses new sync runs from now on (503, shutting_down, with
// Retry-After). Sync runs are jobs of the Config.Fleet, not of the
// handler: stop the fleet after Close (fleet.Fleet.Stop waits for running
// jobs, and those it must cancel are retried by another replica or after
// the restart, their run records saying so), then close the Store.
// Requests other than starting a sync are still served; Close is safe to
// call more than once and returns nil.
//
// The wizard confirms admin consents in the background (each bounded to
// two minutes); Close stops starting them and waits for those running
// until ctx ends (an unconfirmed consent is confirmed by the next
// Validate, the fleet's health check).
func (h *Handler) Close(ctx context.Context) error {
	if h.admin != nil {
		h.admin.closed.Store(true)
	}
	if h.wz != nil {
		h.wz.closing.Store(true)
		done := make(chan struct{})
		go func() { h.wz.bg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	return nil
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
	mux.Handle("/customers", a)
	mux.Handle("/customers/", a)
	mux.Handle("GET /openapi.json", a)
	if cfg.QoE != nil {
		mux.Handle("POST /qoe/notifications", cfg.QoE.Handler())
	}
	mux.Handle("/audit", a)
	mux.Handle("/events", a)
	mux.Handle("/voice", a)
	mux.Handle("/webhooks/", a)
	mux.Handle("/", wz)
	return &Handler{h: mux, admin: a, wz: wz}, nil
}

// NewAdmin returns the JSON admin API for the provider's admins: the routes
// under /customers, /audit, /events, /voice and /webhooks/, and GET /openapi.json. Every request is
// first checked by http.CrossOriginProtection, then by cfg.Authorizer.
// It returns an error when cfg.Authorizer is nil. Call its Close at
// shutdown.
func NewAdmin(cfg Config) (*Handler, error) {
	a, err := newAdmin(cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{h: a, admin: a}, nil
}

// NewWizard returns the customer-facing invitation wizard: GET
// /invite/{token}, POST /invite/{token}/start, GET /auth/callback and GET
// /consent/callback. It needs no Authorizer: the invitation token, the
// sign-in state and a browser-binding cookie guard it. Mount it where the
// Manager's public base URL (m365access.ProviderConfig.PublicBaseURL)
// points. It confirms admin consents in the background: call its Close
// at shutdown.
func NewWizard(cfg Config) (*Handler, error) {
	w, err := newWizard(cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{h: w, wz: w}, nil
}
