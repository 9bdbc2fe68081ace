package pgstore

// Options configures Open and OpenPool. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables
	// (tokenstore_records, tokenstore_leases). It is created if missing. Empty means the connection's search_path decides
	// (normally "public"). Separate schemas isolate separate stores, for
	// example tests or several applications sharing one database.
	Schema string
	// MaxConns caps the pool Open creates; zero keeps pgx's default (the
	// DSN's pool_max_conns, else the larger of 4 and the number of CPUs).
	// OpenPool ignores it.
	MaxConns int32
	// NoMigrate makes Open and OpenPool check that the tables are current
	// instead of migrating them (see package migrate).
	NoMigrate bool
}
