package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// demoQoEClientID is the demo tenant's QoE app registration (the Teams
// call records app a customer registers and gives the provider).
const demoQoEClientID = "5a1c9e2b-7d3f-4e8a-b6c1-2f9d0e4a7b35"

// notificationPath is where the portal serves the call records
// notification receiver.
const notificationPath = "/qoe/notifications"

// openQoE opens the call quality store (beside the tokenstore: the SQLite
// file, or the PostgreSQL database) and the QoE service, whose
// notification URL is the portal's public URL.
func (a *app) openQoE(ctx context.Context, hc *http.Client) error {
	var err error
	if a.cfg.Mode == modeProduction {
		a.qoeStore, err = qoe.OpenPostgres(ctx, a.cfg.PostgresDSN, qoe.PostgresOptions{NoMigrate: a.cfg.NoMigrate})
	} else {
		a.qoeStore, err = qoe.OpenSQLite(ctx, filepath.Join(a.cfg.DataDir, "tenantgate.db"), a.migrateOpts()...)
	}
	if err != nil {
		return fmt.Errorf("open the call quality store: %w", err)
	}
	a.qoe, err = qoe.New(qoe.Config{Access: a.manager, Store: a.qoeStore, HTTPClient: hc,
		NotificationURL: a.publicURL + notificationPath, Events: a.bus, Logger: a.log})
	if err != nil {
		return fmt.Errorf("QoE: %w (the public URL must be https, or http on loopback)", err)
	}
	return nil
}

// addDemoQoEApp registers the demo tenant's QoE app in the fake with
// CallRecords.Read.All and CallRecords.Read.PstnCalls granted. Its
// secret (a test value of the fake, not a real secret) is kept in the data
// directory, so the saved QoE settings keep working after a restart.
func (a *app) addDemoQoEApp() error {
	path := filepath.Join(a.cfg.DataDir, "fake-qoe-app-secret")
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(strings.TrimSpace(string(b))) >= 32:
		a.fakeQoESecret = strings.TrimSpace(string(b))
	case err == nil || errors.Is(err, os.ErrNotExist):
		a.fakeQoESecret = randomToken(32)
		_ = os.Remove(path)
		if err := writeFileExcl(path, []byte(a.fakeQoESecret+"\n"), 0o600); err != nil {
			return fmt.Errorf("write the fake QoE app's secret: %w", err)
		}
	default:
		return fmt.Errorf("read the fake QoE app's secret: %w", err)
	}
	if _, err := a.fake.AddApp(m365test.AppOptions{
		ClientID: demoQoEClientID, DisplayName: demoDisplayName + " Teams QoE", HomeTenant: a.tenant.ID,
		Secrets:                []m365test.Secret{{Value: a.fakeQoESecret, Expires: time.Now().AddDate(1, 0, 0)}},
		ApplicationPermissions: []string{qoe.RoleCallRecords, qoe.RolePstnCalls},
	}); err != nil {
		return fmt.Errorf("demo QoE app: %w", err)
	}
	if err := a.fake.GrantAdminConsent(a.tenant.ID, demoQoEClientID); err != nil {
		return err
	}
	return a.restoreDemoCalls()
}

// demoCallsFile keeps the end times of the demo calls placed, so that the
// fake started again serves the same call records (Microsoft keeps them
// for 30 days; the in-process fake would forget them at every restart).
const demoCallsFile = "demo-calls.json"

// restoreDemoCalls serves the demo calls of earlier runs again.
func (a *app) restoreDemoCalls() error {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, demoCallsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the demo calls: %w", err)
	}
	var ends []time.Time
	if err := json.Unmarshal(b, &ends); err != nil {
		return fmt.Errorf("%s is not a JSON list of times; delete it to start without the earlier demo calls", demoCallsFile)
	}
	return a.fake.RestoreDemoCalls(a.tenant.ID, ends)
}

// saveDemoCalls records the demo calls placed so far.
func (a *app) saveDemoCalls() error {
	b, err := json.Marshal(a.fake.DemoCallEnds(a.tenant.ID))
	if err != nil {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, demoCallsFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// seedDemoQoE gives the demo customer the demo QoE app's settings when
// it has none (a data directory from before QoE).
func (a *app) seedDemoQoE(ctx context.Context) error {
	s, err := a.manager.GetSettings(ctx, a.cfg.Customer)
	if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
		return err
	}
	if s.QoEAppID != "" {
		return nil
	}
	id, secret := demoQoEClientID, a.fakeQoESecret
	if _, err := a.manager.SaveSettings(ctx, a.cfg.Customer, m365access.SettingsUpdate{QoEAppID: &id, QoEClientSecret: &secret}); err != nil {
		return fmt.Errorf("configure the demo customer's QoE app: %w", err)
	}
	return nil
}

// subscribeDemo queues the demo customer's subscription (the job runs once
// the portal serves the receiver, which Graph calls back at creation).
func (a *app) subscribeDemo(ctx context.Context) {
	if _, err := a.fleet.Inserter().Insert(ctx, qoe.SubscribeArgs{Customer: a.cfg.Customer}, nil); err != nil {
		a.log.Warn("queueing the demo QoE subscription failed", "err", err.Error())
	}
}

// devCallsRequest is the body of POST /dev/calls.
type devCallsRequest struct {
	// Count is how many demo calls the fake places (1 to 1000).
	Count int `json:"count"`
	// PSTN is how many demo Direct Routing calls it adds (0 to 1000);
	// today's PSTN report is pulled after.
	PSTN int `json:"pstn"`
}

// devCalls serves POST /dev/calls (demo, admin token): the fake places
// count calls in the demo tenant by the demo rule and notifies the
// subscription, made first if it does not exist yet.
func (p *portal) devCalls(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	problem := func(status int, code, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(httpapi.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
	}
	if who, err := p.auth.who(r); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tenantgate"`)
		problem(http.StatusUnauthorized, "unauthenticated", "send the admin token as Authorization: Bearer <token>")
		return
	} else if !who.Role.AtLeast(httpapi.RoleOperator) {
		problem(http.StatusForbidden, "forbidden", "placing demo calls needs the operator role; you have "+string(who.Role))
		return
	}
	var in devCallsRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Count < 0 || in.Count > 1000 || in.PSTN < 0 || in.PSTN > 1000 || in.Count+in.PSTN == 0 {
		problem(http.StatusBadRequest, "invalid_field", `the body must be {"count": 1 to 1000} (and optionally "pstn": 0 to 1000)`)
		return
	}
	a := p.a
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := a.qoe.EnsureSubscription(ctx, a.cfg.Customer); err != nil {
		a.log.Warn("the demo QoE subscription is not up", "err", err.Error())
		problem(http.StatusBadGateway, "microsoft_error", "the call records subscription could not be made; see Validate QoE")
		return
	}
	ids, err := a.fake.PlaceCalls(ctx, a.tenant.ID, in.Count)
	if serr := a.saveDemoCalls(); serr != nil {
		a.log.Warn("recording the demo calls failed; a restart forgets them", "err", serr.Error())
	}
	failed := 0
	if err != nil {
		failed = len(errorsOf(err))
		a.log.Warn("some call notifications were not acknowledged; the fake retries them", "failed", failed)
	}
	if in.PSTN > 0 {
		if err := a.fake.PlaceDirectRoutingCalls(a.tenant.ID, in.PSTN); err != nil {
			problem(http.StatusInternalServerError, "internal", "placing the PSTN calls failed")
			return
		}
		// Read today's report at once: a queued pull would be dropped as
		// a duplicate of the daily pull's job for today when that one is
		// running, and that one may have read the report before these
		// calls were placed. A failed read is left to a queued pull.
		today := time.Now().UTC()
		if err := a.qoe.PullPSTN(ctx, a.cfg.Customer, today); err != nil {
			a.log.Warn("reading the PSTN report failed; a queued pull tries again", "err", err.Error())
			if _, err := a.fleet.Inserter().Insert(ctx, qoe.PSTNArgs{Customer: a.cfg.Customer, Day: today.Format(time.DateOnly)}, nil); err != nil {
				a.log.Warn("queueing the PSTN pull failed", "err", err.Error())
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"placed": len(ids), "ids": ids, "unacknowledged": failed, "pstn": in.PSTN})
}

// errorsOf unwraps errors.Join.
func errorsOf(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
