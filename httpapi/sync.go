package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// Sync runs are kept in the Store, one record per customer holding the
// latest run, so that a restart shows the last result.
const (
	syncRunKind = "httpapi.syncrun"
	syncRunName = "latest"
)

// The states of a sync run.
const (
	runRunning   = "running"
	runSucceeded = "succeeded"
	runFailed    = "failed"
)

// syncRunJSON is the SyncRun resource, also its stored form.
type syncRunJSON struct {
	ID         string        `json:"id"`
	State      string        `json:"state"`
	StartedAt  time.Time     `json:"startedAt"`
	FinishedAt *time.Time    `json:"finishedAt,omitempty"`
	Added      int           `json:"added"`
	Changed    int           `json:"changed"`
	Removed    int           `json:"removed"`
	Unchanged  int           `json:"unchanged"`
	Total      int           `json:"total"`
	Progress   progressJSON  `json:"progress"`
	Error      *runErrorJSON `json:"error,omitempty"`
	// Heartbeat is when the running process last recorded the run.
	Heartbeat time.Time `json:"heartbeat"`
}

// progressJSON is how far a run got.
type progressJSON struct {
	Pages   int `json:"pages"`
	Read    int `json:"read"`
	Matched int `json:"matched"`
	// Estimate is the number of users the filter selects per Graph, -1
	// when unknown.
	Estimate int64 `json:"estimate"`
	// Percent is Read/Estimate in percent (100 when done), -1 when unknown.
	Percent int `json:"percent"`
}

// runErrorJSON says why a run failed.
type runErrorJSON struct {
	Code    string `json:"code"`
	Action  string `json:"action,omitempty"`
	Message string `json:"message"`
}

// syncRuns starts sync runs and tracks those of this process.
type syncRuns struct {
	c *checked

	// ctx is the runs' context (BaseContext); stop cancels it (Close).
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // one per started (or starting) run

	mu     sync.Mutex
	active map[string]*syncRunJSON // by customer; guarded by mu
	closed bool                    // no new runs; guarded by mu
}

func newSyncRuns(c *checked) *syncRuns {
	base := c.BaseContext
	if base == nil {
		base = context.Background()
	}
	ctx, stop := context.WithCancel(base)
	return &syncRuns{c: c, ctx: ctx, stop: stop, active: map[string]*syncRunJSON{}}
}

// errClosed means the handler was closed: it starts no new runs.
var errClosed = errors.New("httpapi: the handler is closed")

// close refuses new runs, cancels the running ones and waits, at most until
// ctx ends, for them to record their final state.
func (s *syncRuns) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("httpapi: waiting for sync runs to stop: %w", ctx.Err())
	}
}

func runKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: syncRunKind, Name: syncRunName}
}

// load reads the latest stored run, repairing one left running by a process
// that no longer records it. ok is false when the customer never synced.
func (s *syncRuns) load(ctx context.Context, customer string) (run syncRunJSON, ok bool, err error) {
	rec, err := s.c.Store.Get(ctx, runKey(customer))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return syncRunJSON{}, false, nil
	}
	if err != nil {
		return syncRunJSON{}, false, err
	}
	if err := json.Unmarshal(rec.Data, &run); err != nil {
		return syncRunJSON{}, false, fmt.Errorf("httpapi: stored sync run of %q: %w", customer, err)
	}
	if run.State != runRunning {
		return run, true, nil
	}
	s.mu.Lock()
	live, mine := s.active[customer]
	var snapshot syncRunJSON
	if mine {
		snapshot = *live
	}
	s.mu.Unlock()
	if mine && snapshot.ID == run.ID {
		return snapshot, true, nil
	}
	if time.Since(run.Heartbeat) <= 3*s.c.SyncHeartbeat {
		return run, true, nil // another replica's run, alive
	}
	// Nobody records this run any more: its process stopped or crashed.
	now := time.Now().UTC()
	run.State, run.FinishedAt = runFailed, &now
	run.Error = &runErrorJSON{Code: "interrupted", Action: string(m365access.ActionWaitAndRetry),
		Message: "the sync was interrupted (the server stopped during it); start it again"}
	if err := s.put(ctx, customer, run, rec.Version); err != nil && !errors.Is(err, tokenstore.ErrConflict) {
		return syncRunJSON{}, false, err
	}
	return run, true, nil
}

// put stores run over version (0: create).
func (s *syncRuns) put(ctx context.Context, customer string, run syncRunJSON, version int64) error {
	data, err := json.Marshal(run)
	if err != nil {
		return err
	}
	_, err = s.c.Store.Put(ctx, tokenstore.Record{Key: runKey(customer), Data: data}, version)
	return err
}

// save stores run whatever the current version.
func (s *syncRuns) save(ctx context.Context, customer string, run syncRunJSON) error {
	for range 5 {
		rec, err := s.c.Store.Get(ctx, runKey(customer))
		var version int64
		switch {
		case err == nil:
			version = rec.Version
		case !errors.Is(err, tokenstore.ErrNotFound):
			return err
		}
		if err := s.put(ctx, customer, run, version); !errors.Is(err, tokenstore.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("httpapi: saving the sync run of %q kept conflicting", customer)
}

// errRunning means a sync of the customer is running already.
var errRunning = errors.New("httpapi: a sync of this customer is running")

// start begins a run of customer in the background and returns it.
func (s *syncRuns) start(ctx context.Context, customer string) (syncRunJSON, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return syncRunJSON{}, errClosed
	}
	if _, busy := s.active[customer]; busy {
		s.mu.Unlock()
		return syncRunJSON{}, errRunning
	}
	// Claim before the store round trips so two requests cannot both start.
	claim := &syncRunJSON{State: runRunning}
	s.active[customer] = claim
	s.wg.Add(1) // under mu, so that close waits for this run
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.active, customer)
		s.mu.Unlock()
		s.wg.Done()
	}

	prev, ok, err := s.load(ctx, customer)
	if err != nil {
		release()
		return syncRunJSON{}, err
	}
	if ok && prev.State == runRunning && prev.ID != claim.ID {
		release()
		return syncRunJSON{}, errRunning
	}
	now := time.Now().UTC()
	run := syncRunJSON{ID: newRunID(now), State: runRunning, StartedAt: now, Heartbeat: now,
		Progress: progressJSON{Estimate: -1, Percent: -1}}
	if err := s.save(ctx, customer, run); err != nil {
		release()
		return syncRunJSON{}, err
	}
	s.mu.Lock()
	*claim = run
	s.mu.Unlock()
	go s.run(customer, claim)
	return run, nil
}

// run performs the sync and records its progress and result.
func (s *syncRuns) run(customer string, live *syncRunJSON) {
	defer s.wg.Done()
	ctx := s.ctx
	base := s.c.Syncer
	sy := &usersync.Syncer{Source: base.Source, Sink: base.Sink, Filters: base.Filters, Compile: base.Compile, Logger: base.Logger,
		OnProgress: func(p usersync.Progress) {
			s.mu.Lock()
			live.Progress = progressOf(p.Pages, p.Read, p.Matched, p.Estimate, false)
			s.mu.Unlock()
			if base.OnProgress != nil {
				base.OnProgress(p)
			}
		}}
	if sy.Filters == nil {
		sy.Filters = s.c.Access
	}

	// Heartbeat: record the progress regularly, so that other replicas and
	// a restarted process can tell a live run from a dead one.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.c.SyncHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.mu.Lock()
				live.Heartbeat = time.Now().UTC()
				snap := *live
				s.mu.Unlock()
				if err := s.save(ctx, customer, snap); err != nil {
					s.c.Logger.WarnContext(ctx, "httpapi: recording sync progress failed", "customer", customer, "err", err.Error())
				}
			}
		}
	})

	res := sy.SyncCustomer(ctx, customer)
	close(done)
	wg.Wait()

	s.mu.Lock()
	run := *live
	s.mu.Unlock()
	now := time.Now().UTC()
	run.FinishedAt, run.Heartbeat = &now, now
	run.Added, run.Changed, run.Removed, run.Unchanged = res.Added, res.Changed, res.Removed, res.Unchanged
	run.Progress = progressOf(res.Pages, res.Read, res.Matched, res.Estimate, res.Err == nil)
	if res.Err == nil {
		run.State = runSucceeded
	} else {
		run.State = runFailed
		run.Error = runErrorOf(res)
		s.c.Logger.WarnContext(ctx, "httpapi: user sync failed", "customer", customer, "run", run.ID, "err", res.Err.Error())
	}
	run.Total = res.Added + res.Changed + res.Unchanged
	if s.c.Users != nil {
		if n, err := s.c.Users.Count(ctx, customer); err == nil {
			run.Total = n
		}
	}
	// The result must be recorded even when ctx ended (shutdown).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.save(sctx, customer, run); err != nil {
		s.c.Logger.ErrorContext(ctx, "httpapi: recording sync result failed", "customer", customer, "run", run.ID, "err", err.Error())
	}
	s.mu.Lock()
	delete(s.active, customer)
	s.mu.Unlock()
}

// progressOf builds the progress of a run.
func progressOf(pages, read, matched int, estimate int64, done bool) progressJSON {
	p := progressJSON{Pages: pages, Read: read, Matched: matched, Estimate: estimate, Percent: -1}
	switch {
	case done:
		p.Percent = 100
	case estimate > 0:
		p.Percent = int(min(99, int64(read)*100/estimate))
	}
	return p
}

// runErrorOf says, without internal text, why a sync failed.
func runErrorOf(res usersync.Result) *runErrorJSON {
	var fe *usersync.FilterError
	var me *m365access.Error
	e := &runErrorJSON{Code: "internal", Action: string(res.Action), Message: "the sync failed; the error was logged"}
	switch {
	case errors.As(res.Err, &fe):
		e.Code, e.Message = "invalid_filter", "the user filter cannot be used; correct it in the settings"
		e.Action = string(m365access.ActionFixFilter)
	case errors.Is(res.Err, usersync.ErrInProgress):
		e.Code, e.Message = codeSyncRunning, "another sync of this customer was running"
	case errors.As(res.Err, &me):
		e.Code, e.Message = codeUpstream, "Microsoft refused the request; see the action"
		if me.Retryable {
			e.Code, e.Message = codeUpstreamBusy, "Microsoft is unavailable or throttling; retry later"
		}
	case errors.Is(res.Err, context.Canceled), errors.Is(res.Err, context.DeadlineExceeded):
		e.Code, e.Message = "cancelled", "the sync was stopped (the server is shutting down); start it again"
	case m365access.ActionOf(res.Err) != m365access.ActionNone:
		e.Code, e.Message = codeUpstream, "getting a token failed; see the action"
	}
	if e.Action == "" {
		e.Action = string(m365access.ActionOf(res.Err))
	}
	return e
}

// newRunID returns a run ID that sorts by start time.
func newRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(t.UnixMilli(), 36) + "-" + hex.EncodeToString(b[:])
}

func (a *admin) startSync(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Syncer == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "user sync is not configured"})
		return
	}
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	run, err := a.runs.start(r.Context(), customer)
	if errors.Is(err, errClosed) {
		w.Header().Set("Retry-After", "30")
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: codeShuttingDown,
			Detail: "the server is shutting down; start the sync again in a moment"})
		return
	}
	if errors.Is(err, errRunning) {
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeSyncRunning, Detail: "a sync of this customer is running; wait for it"})
		return
	}
	if err != nil {
		a.c.fail(w, r, "start sync", err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

func (a *admin) getSync(w http.ResponseWriter, r *http.Request, customer string) {
	run, ok, err := a.runs.load(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "get sync", err)
		return
	}
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "this customer's users were never synced"})
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// userPageJSON is the UserPage resource.
type userPageJSON struct {
	Users []usersync.User `json:"users"`
	Next  string          `json:"next,omitempty"`
	Total int             `json:"total"`
}

func (a *admin) listUsers(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Users == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the synced users are not configured"})
		return
	}
	q := r.URL.Query()
	opts := sqlsink.ListOptions{After: q.Get("after")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > sqlsink.MaxPageSize {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "limit must be 1 to 1000",
				Fields: []FieldError{{Field: "limit", Code: "invalid", Message: "limit must be 1 to 1000"}}})
			return
		}
		opts.Limit = n
	}
	page, err := a.c.Users.List(r.Context(), customer, opts)
	if errors.Is(err, sqlsink.ErrBadCursor) {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCursor, Detail: "after must be the next cursor of a previous page",
			Fields: []FieldError{{Field: "after", Code: "invalid", Message: "not a cursor this API returned"}}})
		return
	}
	if err != nil {
		a.c.fail(w, r, "list users", err)
		return
	}
	total, err := a.c.Users.Count(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "count users", err)
		return
	}
	if page.Users == nil {
		page.Users = []usersync.User{}
	}
	writeJSON(w, http.StatusOK, userPageJSON{Users: page.Users, Next: page.Next, Total: total})
}
