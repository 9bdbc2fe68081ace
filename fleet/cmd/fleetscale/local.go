package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/scaletest"
	"github.com/tenantgate/tenantgate/usersync"
)

// Environment of the local-floor process.
const (
	envLocalWorkers   = "FLEETSCALE_LOCAL_WORKERS"
	envLocalCustomers = "FLEETSCALE_LOCAL_CUSTOMERS"
)

// localFloor is the round without the fleet: one process wired as a
// replica (the same store, sink, Manager, budget and Graph source) runs
// Validate and a full user sync for every customer, workers at a time,
// with no River, no job records and no run records. It prints its time
// as "local round <duration>" on stdout.
func localFloor(ctx context.Context) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", "local")
	if dir := os.Getenv(envProfile); dir != "" {
		stop, err := scaletest.StartProfile(dir + "/local.cpu")
		if err != nil {
			return err
		}
		defer stop()
	}
	workers, _ := strconv.Atoi(os.Getenv(envLocalWorkers))
	customers, _ := strconv.Atoi(os.Getenv(envLocalCustomers))
	w, err := wire(ctx, log)
	if err != nil {
		return err
	}
	defer w.close()
	m := w.access
	sy := &usersync.Syncer{Source: w.source, Sink: w.sink, Logger: log}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, customers)
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= customers {
					return
				}
				c := fmt.Sprintf("cust%04d", i)
				cctx := fleet.WithCustomer(ctx, c)
				if _, err := m.Validate(cctx, c); err != nil {
					errs <- fmt.Errorf("validate %s: %w", c, err)
					continue
				}
				if res := sy.SyncCustomer(cctx, c); res.Err != nil {
					errs <- fmt.Errorf("sync %s: %w", c, res.Err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Printf("local round %v\n", time.Since(start))
	return nil
}
