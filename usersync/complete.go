package usersync

import (
	"fmt"

	"github.com/tenantgate/tenantgate/m365access"
)

// IncompleteReadError reports a full read of a customer's users that
// ended with fewer users than Graph counted for the query (@odata.count)
// by more than eventual consistency explains (see ShortReadTolerance):
// typically a page that came without its @odata.nextLink. The pass is
// not committed, so nobody is removed and the previous snapshot stays.
// It arrives wrapped in an *m365access.Error (action
// m365access.ActionWaitAndRetry, retryable).
type IncompleteReadError struct {
	Customer string
	Read     int64 // users the pages held
	Count    int64 // users Graph counted
	Pages    int   // pages read
}

func (e *IncompleteReadError) Error() string {
	return fmt.Sprintf("the read ended after %d pages with %d of the %d users Graph counted (a page without @odata.nextLink?); nothing was removed", e.Pages, e.Read, e.Count)
}

// ShortReadTolerance is how many users a complete read may fall short of
// Graph's @odata.count: Graph answers counted queries from an index that
// lags writes (users deleted during a long read are counted but not
// listed), so a shortfall of up to 1% of the count, and at least 5 users,
// passes; a larger one fails the read with an *IncompleteReadError.
func ShortReadTolerance(count int64) int64 {
	return max(count/100, 5)
}

// readTally counts the users of a read's /users pages against the first
// @odata.count.
type readTally struct {
	read  int64
	count int64 // -1 until a page carries the count
	pages int
}

func newTally() readTally { return readTally{count: -1} }

// add counts a decoded /users page.
func (t *readTally) add(p *wirePage) {
	t.pages++
	t.read += int64(len(p.users))
	if t.count < 0 && p.count >= 0 {
		t.count = p.count
	}
}

// check returns the error of a finished read that fell short of the count.
func (t *readTally) check(customer string) error {
	if t.count < 0 || t.count-t.read <= ShortReadTolerance(t.count) {
		return nil
	}
	return &m365access.Error{Op: "read users", Customer: customer, Action: m365access.ActionWaitAndRetry, Retryable: true,
		Err: &IncompleteReadError{Customer: customer, Read: t.read, Count: t.count, Pages: t.pages}}
}
