package migrate

// Option changes what an Open or New of a tenantgate package that takes
// options as trailing arguments (qoe.NewStore, voice.NewStore,
// sqlsink.New, their OpenSQLite and OpenPostgres) does with its schema.
// Packages configured by an options struct have a NoMigrate field instead.
type Option func(*options)

type options struct{ noMigrate bool }

// NoMigrate makes the Open or New check that its line is current instead
// of migrating it: the schema is applied apart from the application, with
// Up or the portal's migrate command. An outdated schema fails with an
// *OutdatedError.
func NoMigrate() Option { return func(o *options) { o.noMigrate = true } }

// NoMigrateIn reports whether opts include NoMigrate.
func NoMigrateIn(opts []Option) bool {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o.noMigrate
}
