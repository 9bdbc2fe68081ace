package httpapi

import (
	"net/http"
)

// New returns one handler serving both the admin API (NewAdmin) and the
// wizard pages (NewWizard). Mount it under any prefix with
// http.StripPrefix; cfg.PublicBaseURL must name that mount point.
func New(cfg Config) (http.Handler, error) {
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
	return mux, nil
}

// NewAdmin returns the JSON admin API for the provider's admins: the routes
// under /customers/{customer}/ and GET /openapi.json. Every request is
// first checked by http.CrossOriginProtection, then by cfg.Authorizer.
// It returns an error when cfg.Authorizer is nil.
func NewAdmin(cfg Config) (http.Handler, error) {
	a, err := newAdmin(cfg)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// NewWizard returns the customer-facing invitation wizard: GET
// /invite/{token}, POST /invite/{token}/start, GET /auth/callback and GET
// /consent/callback. It needs no Authorizer: the invitation token, the
// sign-in state and a browser-binding cookie guard it. Mount it where
// cfg.PublicBaseURL points.
func NewWizard(cfg Config) (http.Handler, error) {
	w, err := newWizard(cfg)
	if err != nil {
		return nil, err
	}
	return w, nil
}
