package m365access

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// errorCode names err for metrics and traces: "AADSTS" and the first Entra
// error code, Microsoft Graph's error code, the FlowError reason,
// "canceled" or "other". It never holds an error's text.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		if len(e.Codes) > 0 {
			return "AADSTS" + strconv.Itoa(e.Codes[0])
		}
		if e.GraphCode != "" {
			return e.GraphCode
		}
		if e.HTTPStatus != 0 {
			return "http" + strconv.Itoa(e.HTTPStatus)
		}
	}
	var f *FlowError
	if errors.As(err, &f) {
		return string(f.Reason)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return "other"
}

// recordToken counts one token acquisition through MSAL.
func recordToken(ctx context.Context, mode AuthMode, fromIdP bool, err error) {
	m := telemetry.Metrics()
	if err != nil {
		m.TokenFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("mode", string(mode)),
			attribute.String("code", errorCode(err)), attribute.String("action", string(ActionOf(err)))))
		return
	}
	source := "cache"
	if fromIdP {
		source = "identityProvider"
	}
	m.TokenAcquisitions.Add(ctx, 1, metric.WithAttributes(attribute.String("mode", string(mode)), attribute.String("source", source)))
	if fromIdP && mode == ModeToken {
		m.TokenRefreshes.Add(ctx, 1)
	}
}
