package fence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
)

type testArgs struct{}

func (testArgs) Kind() string { return "test.job" }

// TestIsAndWrap: a trigger's refusal, however wrapped (SQLite's text,
// an error already ErrErased), is recognized and becomes ErrErased;
// other errors pass unchanged.
func TestIsAndWrap(t *testing.T) {
	t.Parallel()
	other := errors.New("disk I/O error")
	for _, tc := range []struct {
		name string
		err  error
		is   bool
	}{
		{"sqlite", fmt.Errorf("put: %w", errors.New("constraint failed: "+message+" (1811)")), true},
		{"already", fmt.Errorf("x: %w", tokenstore.ErrErased), true},
		{"other", other, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.is, Is(tc.err), "Is")
			w := Wrap(tc.err, "store")
			assert.Equal(t, tc.is, errors.Is(w, tokenstore.ErrErased), "Wrap = %v is ErrErased", w)
			if !tc.is {
				assert.Equal(t, tc.err, w, "Wrap changed the error")
			}
		})
	}
}

// TestStopJob: a job whose customer was erased is cancelled (no retry)
// with one log line; other errors and success pass through.
func TestStopJob(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	job := &river.Job[testArgs]{JobRow: &rivertype.JobRow{ID: 7, Kind: "test.job"}}
	for _, tc := range []struct {
		name   string
		err    error
		cancel bool
	}{
		{"erased", fmt.Errorf("save: %w", tokenstore.ErrErased), true},
		{"other", errors.New("timeout"), false},
		{"ok", nil, false},
	} {
		logs.Reset()
		err := StopJob(log, func(context.Context, *river.Job[testArgs]) error { return tc.err })(t.Context(), job)
		var ce *rivertype.JobCancelError
		assert.Equal(t, tc.cancel, errors.As(err, &ce), "%s: err = %v cancelled", tc.name, err)
		if tc.cancel {
			assert.ErrorIs(t, err, tokenstore.ErrErased, "%s: the cancellation lost ErrErased", tc.name)
		}
		assert.Equal(t, tc.cancel, strings.Count(logs.String(), "\n") == 1, "%s: one log line exactly when cancelled: %s", tc.name, logs.String())
	}
}
