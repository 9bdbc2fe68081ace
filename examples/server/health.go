package main

import (
	"context"
	"net/http"
	"time"

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// healthz answers GET /healthz: 200 "ok" when the database (tokenstore,
// users, records) and River's job database both take a write now, else
// 503 naming what is not writable and, for a full disk, "storage_full".
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var problems []string
	report := func(what string, err error) {
		if err == nil {
			return
		}
		cause := "not writable"
		if sqldb.IsStorageFull(err) {
			cause = "storage_full"
		}
		a.log.WarnContext(ctx, "healthz: "+what+" "+cause, "err", err.Error())
		problems = append(problems, what+": "+cause)
	}
	if a.recordsDB != nil {
		d := sqldb.SQLite
		if a.cfg.PostgresDSN != "" {
			d = sqldb.Postgres
		}
		report("database", sqldb.ProbeWrite(ctx, a.recordsDB, d))
	}
	if a.fleet != nil {
		report("jobs", a.fleet.Writable(ctx))
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			_, _ = w.Write([]byte(p + "\n"))
		}
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
