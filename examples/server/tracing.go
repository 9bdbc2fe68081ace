package main

import (
	"fmt"
	"io"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// stdoutTracing installs, as the global TracerProvider, one that writes
// every span to w as JSON: tenantgate's operation spans (token
// acquisitions, validations, syncs) and the Graph request and
// kiota-http-go handler spans under them. Spans hold customer IDs, modes,
// statuses and error codes, never a secret or a URL. Shut the provider
// down to flush the last spans.
func stdoutTracing(w io.Writer) (*sdktrace.TracerProvider, error) {
	exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, fmt.Errorf("the stdout trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	otel.SetTracerProvider(tp)
	return tp, nil
}
