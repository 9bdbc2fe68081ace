package testdb

import (
	"io"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
)

type rivermigrateDriver[TTx any] = riverdriver.Driver[TTx]

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}
