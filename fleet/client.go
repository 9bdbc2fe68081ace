package fleet

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Inserter enqueues jobs: the Insert method of *river.Client, which
// Fleet.Inserter returns and PluginInserter.UseInserter is given. It is an
// alias of an interface literal so that a package fleet imports (events)
// can declare the identical type without importing fleet and still
// satisfy PluginInserter.
type Inserter = interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// jobClient is what Fleet uses of a *river.Client, whatever its driver's
// transaction type: *river.Client[pgx.Tx] and *river.Client[*sql.Tx] both
// satisfy it.
type jobClient interface {
	Inserter
	ID() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	PeriodicJobs() *river.PeriodicJobBundle
}
