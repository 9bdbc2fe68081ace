package httpapi

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

// TestProblemStorageFull: a full disk is named (507 storage_full, saying
// that nothing was saved), not a generic 500.
func TestProblemStorageFull(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		fmt.Errorf("tokenstore: put: %w", syscall.ENOSPC),
		fmt.Errorf("save: %w", &pgconn.PgError{Code: "53100"}),
		fmt.Errorf("commit: database or disk is full (13)"),
	} {
		p := problemFor(err)
		assert.Equal(t, http.StatusInsufficientStorage, p.Status, "%v", err)
		assert.Equal(t, codeStorageFull, p.Code, "%v", err)
		assert.Contains(t, p.Detail, "nothing was saved")
	}
	assert.Equal(t, codeInternal, problemFor(fmt.Errorf("boom")).Code)
}
