package fleet

import "errors"

// Errors callers branch on.
var (
	// ErrInvalidCustomer: the customer ID cannot be stored.
	ErrInvalidCustomer = errors.New("fleet: invalid customer ID")
	// ErrNotEnrolled: the customer is not in the fleet (never enrolled,
	// or offboarded).
	ErrNotEnrolled = errors.New("fleet: customer not enrolled")
	// ErrOffboarding: the customer is being offboarded; wait for the
	// offboarding job to finish.
	ErrOffboarding = errors.New("fleet: customer is being offboarded")
	// ErrRunning: a job of this kind runs for the customer already (in
	// this or another replica); wait for it.
	ErrRunning = errors.New("fleet: a job of this kind is running for the customer")
	// ErrDisabled: the job kind is not configured (for example syncs
	// without a Syncer).
	ErrDisabled = errors.New("fleet: not configured")
)
