package graphhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/telemetry"
)

func TestRequestsCountedByStatusAndCustomer(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := graphhttp.NewClient(graphhttp.Options{})
	require.NoError(t, err)
	for _, path := range []string{"/users", "/users", "/missing"} {
		req, _ := http.NewRequestWithContext(telemetry.WithCustomer(context.Background(), "contoso"), http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "tenantgate.graph.requests" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				status, _ := dp.Attributes.Value("status")
				customer, _ := dp.Attributes.Value("customer")
				got[customer.AsString()+"/"+status.AsString()] += dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{"contoso/200": 2, "contoso/404": 1}, got, "tenantgate.graph.requests by customer/status")
}
