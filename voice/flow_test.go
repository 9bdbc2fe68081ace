package voice

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// chanEmitter hands the events to the test.
type chanEmitter chan events.Event

func (c chanEmitter) Emit(_ context.Context, e events.Event) error { c <- e; return nil }

// waitEvent returns the next operation event (ranges running low are
// rangelevel_test.go's).
func waitEvent(t *testing.T, c chanEmitter) events.Event {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e := <-c:
			if e.Type == events.VoiceRangeLow || e.Type == events.VoiceRangeExhausted {
				continue
			}
			return e
		case <-deadline:
			require.FailNow(t, "no voice event within 60 s")
			return events.Event{}
		}
	}
}

func checkFailed(v UserVoice) map[string]Action { return failed(v) }

// TestSetAndRelease walks the design's done-when on a small tenant: the
// free numbers, readiness, a joiner set in one request, a no-op repeat,
// a taken number refused with nothing sent, a release to quarantine that
// "next" skips, a partial failure resumed by applying again.
func TestSetAndRelease(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			g := newStub(t, 60)
			evs := make(chanEmitter, 100)
			s := newStubService(t, db, g, func(c *Config) { c.Events = evs })
			n, err := s.Refresh(ctx, "contoso")
			require.NoError(t, err)
			assert.Equal(t, 60, n)
			_, err = s.PutRanges(ctx, "contoso", []Range{
				{Name: "Low", From: "+39020000004", To: "+39020000009", Type: DirectRouting, QuarantineDays: 30},
				{Name: "Milan", From: "+39020000010", To: "+39020009999", Type: DirectRouting, QuarantineDays: 30}})
			require.NoError(t, err)
			free, err := s.Numbers(ctx, "contoso", NumberQuery{Status: "unassigned", Prefix: "+3902"})
			require.NoError(t, err)
			assert.Equal(t, 40, free.Total, "every third number is assigned")

			v24, err := s.Voice(ctx, "contoso", "user00024@contoso.test")
			require.NoError(t, err)
			assert.True(t, v24.Ready, "%+v", v24.Checks)
			v4, err := s.Voice(ctx, "contoso", "00000000-0000-0000-0000-000000000004")
			require.NoError(t, err)
			assert.False(t, v4.Ready)
			assert.Equal(t, ActionAssignLicense, checkFailed(v4)[CheckPhoneLicense])

			// User 4: license, number and two policies in one request.
			req := SetRequest{Number: "+39020000004", Policies: map[string]string{PolicyVoiceRouting: "VRP-IT", PolicyDialPlan: "DP-IT"}, Licenses: "auto"}
			op, err := s.SetVoice(ctx, "contoso", "user00004@contoso.test", req, "alice@provider")
			require.NoError(t, err)
			assert.Equal(t, StateQueued, op.State)
			e := waitEvent(t, evs)
			assert.Equal(t, events.VoiceAssigned, e.Type)
			assert.Equal(t, "+39020000004", e.Data.Number)
			op, err = s.Operation(ctx, "contoso", op.ID)
			require.NoError(t, err)
			require.Equal(t, StateSucceeded, op.State, "%+v", op.Items)
			steps := map[string]StepStatus{}
			for _, st := range op.Items[0].Steps {
				steps[st.Step] = st.Status
			}
			assert.Equal(t, map[string]StepStatus{"license": StepSucceeded, "number": StepSucceeded,
				"policy:" + PolicyVoiceRouting: StepSucceeded, "policy:" + PolicyDialPlan: StepSucceeded}, steps)
			assert.Equal(t, 1, g.count("POST assignLicense"))
			assert.Equal(t, 1, g.count("POST assignNumber"))
			assert.Equal(t, 1, g.count("POST assign"), "both policies in one request")
			v4, err = s.Voice(ctx, "contoso", "user00004@contoso.test")
			require.NoError(t, err)
			assert.True(t, v4.Ready, "%+v", v4.Checks)
			inv, err := s.Numbers(ctx, "contoso", NumberQuery{User: "user00004@contoso.test"})
			require.NoError(t, err)
			require.Len(t, inv.Numbers, 1, "the inventory row changed with the operation")
			assert.Equal(t, "+39020000004", inv.Numbers[0].Number)

			// The same request again: a no-op, nothing written.
			op, err = s.SetVoice(ctx, "contoso", "user00004@contoso.test", req, "alice@provider")
			require.NoError(t, err)
			assert.Equal(t, StateSucceeded, op.State)
			for _, st := range op.Items[0].Steps {
				assert.Equal(t, StepUnchanged, st.Status, st.Step)
			}
			assert.Equal(t, 1, g.count("POST assignLicense")+g.count("POST assignNumber")+g.count("POST assign")-2)

			// A taken number is refused, nothing changes.
			_, err = s.SetVoice(ctx, "contoso", "user00005@contoso.test", SetRequest{Number: "+39020000024", Licenses: "auto"}, "alice@provider")
			ve, ok := AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, CodeNumberTaken, ve.Code)
			assert.Equal(t, "/number", ve.Field)
			assert.Equal(t, 409, ve.HTTPStatus())
			assert.Equal(t, 1, g.count("POST assignLicense"), "no license was assigned")
			_, err = s.SetVoice(ctx, "contoso", "user00005@contoso.test", SetRequest{Number: "+39020000002", Policies: map[string]string{PolicyDialPlan: "DP-XX"}, Licenses: "auto"}, "alice@provider")
			ve, ok = AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, CodeUnknownPolicy, ve.Code)
			assert.Equal(t, "/policies/TenantDialPlan", ve.Field)
			assert.Equal(t, 422, ve.HTTPStatus())
			h, err := s.Numbers(ctx, "contoso", NumberQuery{Prefix: "+39020000002"})
			require.NoError(t, err)
			assert.False(t, h.Numbers[0].Reserved, "a refused request leaves no reservation")

			// Release user 4: the number goes to quarantine and "next"
			// skips it.
			op, err = s.Release(ctx, "contoso", "user00004@contoso.test", ReleaseRequest{}, "bob@provider")
			require.NoError(t, err)
			e = waitEvent(t, evs)
			assert.Equal(t, events.VoiceReleased, e.Type)
			assert.Equal(t, op.ID, e.Data.Operation)
			q, err := s.Numbers(ctx, "contoso", NumberQuery{Prefix: "+39020000004"})
			require.NoError(t, err)
			require.Len(t, q.Numbers, 1)
			assert.Equal(t, "unassigned", q.Numbers[0].Status)
			require.NotNil(t, q.Numbers[0].QuarantinedUntil)
			v4, err = s.Voice(ctx, "contoso", "user00004@contoso.test")
			require.NoError(t, err)
			assert.Nil(t, v4.Policies[PolicyVoiceRouting], "direct policies removed")
			_, err = s.SetVoice(ctx, "contoso", "user00007@contoso.test", SetRequest{Number: "next", Range: "Low", Licenses: "auto",
				Policies: map[string]string{PolicyVoiceRouting: "VRP-IT"}}, "alice@provider")
			require.NoError(t, err)
			e = waitEvent(t, evs)
			assert.Equal(t, events.VoiceAssigned, e.Type)
			assert.Equal(t, "+39020000005", e.Data.Number, "the quarantined +39020000004 is skipped")

			// A policy step Microsoft refuses leaves the operation partial;
			// applying again after the fix skips what is done.
			g.mu.Lock()
			g.badPolicies = true
			g.mu.Unlock()
			req8 := SetRequest{Number: "next", Range: "Low", Licenses: "auto", Policies: map[string]string{PolicyVoiceRouting: "VRP-IT"}}
			op, err = s.SetVoice(ctx, "contoso", "user00008@contoso.test", req8, "alice@provider")
			require.NoError(t, err)
			e = waitEvent(t, evs)
			assert.Equal(t, events.VoiceFailed, e.Type)
			op, err = s.Operation(ctx, "contoso", op.ID)
			require.NoError(t, err)
			assert.Equal(t, StatePartial, op.State)
			last := op.Items[0].Steps[len(op.Items[0].Steps)-1]
			assert.Equal(t, StepFailed, last.Status)
			assert.Contains(t, last.Detail, "policy type not supported", "Microsoft's detail is kept")
			g.mu.Lock()
			g.badPolicies = false
			g.mu.Unlock()
			writes := g.count("POST assignNumber")
			op, err = s.SetVoice(ctx, "contoso", "user00008@contoso.test", req8, "alice@provider")
			require.NoError(t, err)
			e = waitEvent(t, evs)
			assert.Equal(t, events.VoiceAssigned, e.Type)
			op, err = s.Operation(ctx, "contoso", op.ID)
			require.NoError(t, err)
			assert.Equal(t, StepUnchanged, op.Items[0].Steps[1].Status, "the number is not assigned again")
			assert.Equal(t, writes, g.count("POST assignNumber"))

			page, err := s.Operations(ctx, "contoso", OperationQuery{})
			require.NoError(t, err)
			assert.Len(t, page.Operations, 6)
		})
	}
}

func TestPermissionMissing(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	g := newStub(t, 12)
	s := newStubService(t, db, g, nil)
	g.forbidden["numberAssignments"] = true
	ctx := context.Background()
	_, err := s.SetVoice(ctx, "c", "user00004@contoso.test", SetRequest{Number: "+39020000004", Licenses: "auto"}, "a")
	e, ok := AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, CodePermissionMissing, e.Code)
	assert.Equal(t, ActionGrantConsent, e.Action)
	assert.Equal(t, []string{permNumbersRead}, e.Permissions)
	assert.NotContains(t, e.Error(), "Missing role permissions", "Microsoft's 403 text is not the message")
	v, err := s.Voice(ctx, "c", "user00003@contoso.test")
	require.NoError(t, err)
	assert.False(t, v.Ready)
	assert.Equal(t, ActionGrantConsent, failed(v)[CheckPermissions])
}

// heldInserter records jobs without running them: the test plays the
// job's attempts itself.
type heldInserter struct{}

func (heldInserter) Insert(context.Context, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// TestResumeAfterRestart: a job stopped while it follows Microsoft's
// number operation (a process shutdown) leaves the operation running
// with the operation's Location saved; the next attempt follows that
// Location and never submits the number again.
func TestResumeAfterRestart(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	g := newStub(t, 12)
	g.opPolls = 2
	st, err := NewStore(context.Background(), db.DB, db.Dialect)
	require.NoError(t, err)
	s, err := New(Config{Access: stubAccess{url: g.srv.URL}, Store: st, HTTPClient: g.srv.Client(),
		PollInterval: 100 * time.Millisecond, PollMaxInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.UseInserter(context.Background(), heldInserter{}))
	ctx := context.Background()
	op, err := s.SetVoice(ctx, "c", "user00004@contoso.test", SetRequest{Number: "+39020000004", Licenses: "auto"}, "a")
	require.NoError(t, err)

	// The first attempt: the process stops while the operation is
	// followed (at its first poll, so after the Location was saved).
	stopped, cancel := context.WithCancel(ctx)
	defer cancel()
	g.mu.Lock()
	g.onPoll = cancel
	g.mu.Unlock()
	err = s.Run(stopped, "c", op.ID, false)
	require.ErrorIs(t, err, context.Canceled)
	got, err := s.Operation(ctx, "c", op.ID)
	require.NoError(t, err)
	assert.Equal(t, StateRunning, got.State, "a shutdown is no failure")
	assert.Equal(t, StepRunning, got.Items[0].Steps[1].Status)
	assert.Equal(t, 1, g.count("POST assignNumber"))

	// The next attempt follows the saved Location.
	require.NoError(t, s.Run(ctx, "c", op.ID, false))
	got, err = s.Operation(ctx, "c", op.ID)
	require.NoError(t, err)
	assert.Equal(t, StateSucceeded, got.State, "%+v", got.Items)
	assert.Equal(t, 1, g.count("POST assignNumber"), "the number was not submitted again")
	assert.Equal(t, 2, g.count("GET operation"))
}

// TestReleaseLicensesAndCancel: a release with RemoveLicenses takes the
// voice licenses after the number and the policies; a cancelled queued
// operation never runs a step.
func TestReleaseLicensesAndCancel(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	g := newStub(t, 12)
	st, err := NewStore(context.Background(), db.DB, db.Dialect)
	require.NoError(t, err)
	s, err := New(Config{Access: stubAccess{url: g.srv.URL}, Store: st, HTTPClient: g.srv.Client(),
		PollInterval: 5 * time.Millisecond, PollMaxInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.UseInserter(context.Background(), heldInserter{}))
	ctx := context.Background()

	// User 3: Calling Plan voice user (Teams Phone and Calling Plan).
	op, err := s.Release(ctx, "c", "user00003@contoso.test", ReleaseRequest{RemoveLicenses: true}, "a")
	require.NoError(t, err)
	var steps []string
	for _, st := range op.Items[0].Steps {
		steps = append(steps, st.Step)
	}
	assert.Equal(t, []string{"number", "policy:" + PolicyDialPlan, "license"}, steps, "licenses go last")
	require.NoError(t, s.Run(ctx, "c", op.ID, false))
	got, err := s.Operation(ctx, "c", op.ID)
	require.NoError(t, err)
	require.Equal(t, StateSucceeded, got.State, "%+v", got.Items)
	assert.Contains(t, got.Items[0].Steps[2].Detail, "MCOEV")
	assert.Contains(t, got.Items[0].Steps[2].Detail, "MCOPSTN1")
	v, err := s.Voice(ctx, "c", "user00003@contoso.test")
	require.NoError(t, err)
	assert.Equal(t, []string{"SPE_E3"}, v.Licenses)
	assert.Empty(t, v.Numbers)

	// A queued operation cancelled before its job runs sends nothing.
	writes := s.Stats().Writes
	op, err = s.SetVoice(ctx, "c", "user00004@contoso.test", SetRequest{Number: "+39020000004", Licenses: "auto"}, "a")
	require.NoError(t, err)
	canceled, err := s.Cancel(ctx, "c", op.ID, "a")
	require.NoError(t, err)
	assert.Equal(t, StateCanceled, canceled.State)
	require.NoError(t, s.Run(ctx, "c", op.ID, false))
	assert.Equal(t, writes, s.Stats().Writes, "no Graph write after the cancel")
	_, err = s.Cancel(ctx, "c", op.ID, "a")
	e, ok := AsError(err)
	require.True(t, ok)
	assert.Equal(t, CodeOperationFinished, e.Code)
	// The reservation went with the cancel: the number can be asked for again.
	_, err = s.SetVoice(ctx, "c", "user00004@contoso.test", SetRequest{Number: "+39020000004", Licenses: "auto"}, "a")
	require.NoError(t, err)
}
