package sqlitestore

import "time"

// Options configures Open. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a statement waits for another connection or
	// process holding the database's write lock before it fails with an
	// error matching ErrBusy. Zero means 5 seconds.
	BusyTimeout time.Duration
	// MaxOpenConns caps the pooled connections to the file. Zero means 8.
	// SQLite runs one writer at a time whatever this is; more connections
	// let reads run alongside it (WAL).
	MaxOpenConns int
	// NoMigrate makes Open check that the tables are current instead of
	// migrating them (see package migrate).
	NoMigrate bool
}

const (
	defaultBusyTimeout  = 5 * time.Second
	defaultMaxOpenConns = 8
)

func (o Options) busyTimeout() time.Duration {
	if o.BusyTimeout <= 0 {
		return defaultBusyTimeout
	}
	return o.BusyTimeout
}

func (o Options) maxOpenConns() int {
	if o.MaxOpenConns <= 0 {
		return defaultMaxOpenConns
	}
	return o.MaxOpenConns
}
