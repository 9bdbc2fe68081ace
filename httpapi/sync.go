package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
)

// syncRunJSON is the SyncRun resource: the fleet's run record, its times
// named as every time of the API is (the record keeps its stored names).
type syncRunJSON struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	StartedAt   time.Time       `json:"startedAt"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
	Added       int             `json:"added"`
	Changed     int             `json:"changed"`
	Removed     int             `json:"removed"`
	Unchanged   int             `json:"unchanged"`
	Total       int             `json:"total"`
	Round       string          `json:"round,omitempty"`
	RoundReason string          `json:"roundReason,omitempty"`
	Requests    int             `json:"requests,omitempty"`
	Progress    fleet.Progress  `json:"progress"`
	Error       *fleet.RunError `json:"error,omitempty"`
	HeartbeatAt time.Time       `json:"heartbeatAt"`
	Job         int64           `json:"job,omitempty"`
	Attempt     int             `json:"attempt,omitempty"`
	Trigger     string          `json:"trigger,omitempty"`
}

func syncRunOf(r fleet.SyncRun) syncRunJSON {
	return syncRunJSON{ID: r.ID, State: r.State, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Added: r.Added, Changed: r.Changed,
		Removed: r.Removed, Unchanged: r.Unchanged, Total: r.Total, Round: r.Round, RoundReason: r.RoundReason, Requests: r.Requests,
		Progress: r.Progress, Error: r.Error, HeartbeatAt: r.Heartbeat, Job: r.Job, Attempt: r.Attempt, Trigger: r.Trigger}
}

// The states of a sync run.
const (
	runQueued    = fleet.RunQueued
	runRunning   = fleet.RunRunning
	runSucceeded = fleet.RunSucceeded
	runFailed    = fleet.RunFailed
	runRetrying  = fleet.RunRetrying
	runCancelled = fleet.RunCancelled
)

func (a *admin) startSync(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Fleet == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "user sync is not configured"})
		return
	}
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	if a.closed.Load() {
		w.Header().Set("Retry-After", "30")
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: codeShuttingDown,
			Detail: "the server is shutting down; start the sync again in a moment"})
		return
	}
	run, err := a.c.Fleet.SyncNow(r.Context(), customer)
	switch {
	case errors.Is(err, fleet.ErrRunning):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeSyncRunning, Detail: "a sync of this customer is running; wait for it or cancel it"})
	case errors.Is(err, fleet.ErrOffboarding):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeOffboarding, Detail: "the customer is being offboarded"})
	case errors.Is(err, fleet.ErrNotEnrolled):
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "the customer has no Microsoft 365 settings"})
	case errors.Is(err, fleet.ErrDisabled):
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "user sync is not configured"})
	case err != nil:
		a.c.fail(w, r, "start sync", err)
	default:
		w.Header().Set("Location", customerLocation(r, customer)+"/users/sync")
		writeJSON(w, http.StatusAccepted, syncRunOf(run))
	}
}

func (a *admin) getSync(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Fleet == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "user sync is not configured"})
		return
	}
	run, ok, err := a.c.Fleet.LatestSync(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "get sync", err)
		return
	}
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "this customer's users were never synced"})
		return
	}
	writeJSON(w, http.StatusOK, syncRunOf(run))
}

func (a *admin) cancelSync(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Fleet == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "user sync is not configured"})
		return
	}
	run, err := a.c.Fleet.CancelSync(r.Context(), customer)
	if errors.Is(err, fleet.ErrNotEnrolled) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "this customer has no sync to cancel"})
		return
	}
	if err != nil {
		a.c.fail(w, r, "cancel sync", err)
		return
	}
	w.Header().Set("Location", customerLocation(r, customer)+"/users/sync")
	writeJSON(w, http.StatusAccepted, syncRunOf(run))
}
