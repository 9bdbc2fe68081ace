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
			if got := Is(tc.err); got != tc.is {
				t.Fatalf("Is = %v, want %v", got, tc.is)
			}
			w := Wrap(tc.err, "store")
			if tc.is != errors.Is(w, tokenstore.ErrErased) {
				t.Errorf("Wrap = %v", w)
			}
			if !tc.is && w != tc.err {
				t.Errorf("Wrap changed %v", tc.err)
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
		if errors.As(err, &ce) != tc.cancel {
			t.Errorf("%s: err = %v, cancelled = %v, want %v", tc.name, err, !tc.cancel, tc.cancel)
		}
		if tc.cancel && !errors.Is(err, tokenstore.ErrErased) {
			t.Errorf("%s: the cancellation lost ErrErased: %v", tc.name, err)
		}
		if n := strings.Count(logs.String(), "\n"); (n == 1) != tc.cancel {
			t.Errorf("%s: %d log lines: %s", tc.name, n, logs.String())
		}
	}
}
