package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
)

// MaxBatchRequests is how many requests one JSON batch may carry, as in
// Graph.
const MaxBatchRequests = 20

type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	// DependsOn names requests of the batch this one runs after.
	DependsOn []string `json:"dependsOn,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// handleBatch is POST /v1.0/$batch (JSON batching), as strict as
// Graph's documentation and known issues say it is:
//
//   - at most 20 requests, each with an id unique in the batch, a method
//     and a URL relative to the version ("/users?..." or "users?...");
//     an absolute URL (an @odata.nextLink sent back as is) refuses the
//     batch with 400, as does a dependsOn naming no earlier request;
//   - each request is authorized (the batch's Authorization header),
//     throttled, fault-injected and logged like the same request sent
//     alone, with its own headers (ConsistencyLevel: eventual for an
//     advanced query), and gets its own status inside a 200 batch: a 429
//     carries its Retry-After in the response's headers;
//   - a request whose dependsOn names a failed request is not run: 424
//     Failed Dependency;
//   - a nested $batch is refused (400) for that request;
//   - responses come back in a different order from the requests
//     (reversed): clients must correlate by id, as Graph warns.
//
// JSON bodies are embedded as they are; others as a JSON string.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, c *call) {
	p, ge := s.verifyBearer(r)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	c.tenant, c.clientID = p.tenant.ID, p.clientID
	bad := func(format string, args ...any) {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: fmt.Sprintf(format, args...)})
	}
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := readJSONBody(r, &in); err != nil {
		bad("Invalid batch payload format.")
		return
	}
	if len(in.Requests) == 0 {
		bad("Invalid batch payload format: no requests.")
		return
	}
	if len(in.Requests) > MaxBatchRequests {
		bad("Number of requests in batch exceeded the maximum of %d.", MaxBatchRequests)
		return
	}
	seen := make(map[string]bool, len(in.Requests))
	for _, br := range in.Requests {
		switch {
		case br.ID == "" || br.Method == "" || br.URL == "":
			bad("Each request in a batch needs an id, a method and a url.")
			return
		case seen[br.ID]:
			bad("Request id '%s' is not unique in the batch.", br.ID)
			return
		case strings.Contains(br.URL, "://"):
			bad("The url of request '%s' must be relative to the version, for example /users.", br.ID)
			return
		}
		for _, dep := range br.DependsOn {
			if !seen[dep] {
				bad("Request '%s' depends on '%s', which is not an earlier request of the batch.", br.ID, dep)
				return
			}
		}
		seen[br.ID] = true
	}
	status := make(map[string]int, len(in.Requests))
	out := make([]batchResponse, 0, len(in.Requests))
	for _, br := range in.Requests {
		resp := s.serveBatched(r, br, status)
		status[br.ID] = resp.Status
		out = append(out, resp)
	}
	slices.Reverse(out)
	b := make([]byte, 0, 64+sumBodies(out))
	b = append(b, `{"responses":[`...)
	for i, resp := range out {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, resp.ID)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(resp.Status), 10)
		if len(resp.Headers) > 0 {
			b = append(b, `,"headers":{`...)
			for _, name := range batchHeaders {
				v, ok := resp.Headers[name]
				if !ok {
					continue
				}
				if b[len(b)-1] != '{' {
					b = append(b, ',')
				}
				b = appendJSONString(b, name)
				b = append(b, ':')
				b = appendJSONString(b, v)
			}
			b = append(b, '}')
		}
		if len(resp.Body) > 0 {
			b = append(b, `,"body":`...)
			b = append(b, resp.Body...)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// batchHeaders are the response headers a batch answer carries.
var batchHeaders = []string{"Content-Type", "Retry-After", "Location"}

func sumBodies(rs []batchResponse) int {
	n := 0
	for _, r := range rs {
		n += len(r.Body) + 128
	}
	return n
}

// serveBatched serves one request of a batch; status holds the statuses
// of the requests served before it.
func (s *Server) serveBatched(r *http.Request, br batchRequest, status map[string]int) batchResponse {
	for _, dep := range br.DependsOn {
		if status[dep] >= 400 {
			return batchResponse{ID: br.ID, Status: http.StatusFailedDependency,
				Body: json.RawMessage(`{"error":{"code":"FailedDependency","message":"The request depends on a request that failed."}}`)}
		}
	}
	path := strings.TrimPrefix(br.URL, "/")
	if p, _, _ := strings.Cut(path, "?"); strings.EqualFold(p, "$batch") {
		return batchResponse{ID: br.ID, Status: http.StatusBadRequest,
			Body: json.RawMessage(`{"error":{"code":"BadRequest","message":"Nested batch requests are not supported."}}`)}
	}
	var body io.Reader
	if len(br.Body) > 0 {
		body = bytes.NewReader(br.Body)
	}
	sub, err := http.NewRequestWithContext(r.Context(), strings.ToUpper(br.Method), "https://"+r.Host+"/v1.0/"+path, body)
	if err != nil {
		return batchResponse{ID: br.ID, Status: http.StatusBadRequest,
			Body: json.RawMessage(`{"error":{"code":"BadRequest","message":"Invalid request URL."}}`)}
	}
	sub.Host = r.Host
	sub.RemoteAddr = r.RemoteAddr
	for k, v := range br.Headers {
		sub.Header.Set(k, v)
	}
	sub.Header.Set("Authorization", r.Header.Get("Authorization"))
	if len(br.Body) > 0 && sub.Header.Get("Content-Type") == "" {
		// "If a body is included with the request, the headers object
		// must contain a value for Content-Type" (JSON batching page).
		return batchResponse{ID: br.ID, Status: http.StatusBadRequest,
			Body: json.RawMessage(`{"error":{"code":"BadRequest","message":"Content-Type header must be specified for a request with a body."}}`)}
	}
	rec := httptest.NewRecorder()
	s.graphMux.ServeHTTP(rec, sub)
	resp := batchResponse{ID: br.ID, Status: rec.Code, Headers: map[string]string{}}
	for _, k := range batchHeaders {
		if v := rec.Header().Get(k); v != "" {
			resp.Headers[k] = v
		}
	}
	if b := rec.Body.Bytes(); len(b) > 0 {
		// The fake's handlers write JSON for JSON content types; anything
		// else travels as a string.
		if strings.Contains(rec.Header().Get("Content-Type"), "json") {
			resp.Body = json.RawMessage(b)
		} else {
			resp.Body = appendJSONString(nil, string(b))
		}
	}
	return resp
}
