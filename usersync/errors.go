package usersync

import (
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/m365access"
)

// ErrInProgress is returned (in Result.Err) for a customer whose users are
// already being synced by this Syncer.
var ErrInProgress = errors.New("usersync: a sync of this customer is already running")

// errPassDone is returned by a Pass used after Commit or Abort.
var errPassDone = errors.New("usersync: pass already committed or aborted")

// FilterError reports a customer's user filter that could not be read or
// compiled. Err is the cause, for example a *filter.SyntaxError with the
// position; the action is m365access.ActionFixFilter.
type FilterError struct {
	Customer string
	Err      error
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("usersync: user filter of customer %q: %v", e.Customer, e.Err)
}

// Unwrap returns the cause.
func (e *FilterError) Unwrap() error { return e.Err }

// actionOf returns the action a person must take after err.
func actionOf(err error) m365access.Action {
	var fe *FilterError
	switch {
	case err == nil:
		return m365access.ActionNone
	case errors.As(err, &fe):
		return m365access.ActionFixFilter
	case errors.Is(err, ErrInProgress):
		return m365access.ActionWaitAndRetry
	}
	return m365access.ActionOf(err)
}
