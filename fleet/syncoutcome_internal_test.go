package fleet

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncOutcome: how a sync's result ends its run and its job.
func TestSyncOutcome(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(river.ErrJobCancelledRemotely)
	throttled := &m365access.Error{HTTPStatus: 429, Retryable: true, Action: m365access.ActionWaitAndRetry}
	revoked := &m365access.Error{OAuthError: "invalid_grant", Action: m365access.ActionReInvite}
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		err       error
		final     bool
		state     string
		code      string
		jobErr    bool
		jobCancel bool
		snooze    bool
	}{
		{name: "succeeded", state: RunSucceeded},
		{name: "cancelled remotely", ctx: cancelled, err: context.Canceled, state: RunCancelled, code: "cancelled", jobErr: true},
		{name: "interrupted", err: context.DeadlineExceeded, state: RunRetrying, code: "interrupted", jobErr: true},
		{name: "interrupted at the last attempt", err: context.Canceled, final: true, state: RunFailed, code: "interrupted", jobErr: true},
		{name: "host sync running", err: usersync.ErrInProgress, state: RunRetrying, code: "inProgress", jobErr: true, snooze: true},
		{name: "storage full", err: fmt.Errorf("write: %w", syscall.ENOSPC), state: RunFailed, code: "storage_full", jobErr: true},
		{name: "throttled", err: throttled, state: RunRetrying, code: "microsoft_unavailable", jobErr: true},
		{name: "throttled at the last attempt", err: throttled, final: true, state: RunFailed, code: "microsoft_unavailable", jobErr: true, jobCancel: true},
		{name: "revoked", err: revoked, state: RunFailed, code: "microsoft_error", jobErr: true, jobCancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			state, runErr, jobErr := syncOutcome(ctx, "c1", usersync.Result{Err: tc.err}, tc.final)
			assert.Equal(t, tc.state, state)
			if tc.code == "" {
				assert.Nil(t, runErr)
			} else if assert.NotNil(t, runErr) {
				assert.Equal(t, tc.code, runErr.Code)
			}
			assert.Equal(t, tc.jobErr, jobErr != nil)
			var jc *river.JobCancelError
			assert.Equal(t, tc.jobCancel, errors.As(jobErr, &jc), "job cancelled")
			var js *river.JobSnoozeError
			assert.Equal(t, tc.snooze, errors.As(jobErr, &js), "job snoozed")
		})
	}
}
