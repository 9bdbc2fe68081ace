package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// handleBatch is POST /v1.0/$batch (JSON batching): at most 20 requests,
// each with a unique id and a URL relative to /v1.0, served one after the
// other with the batch's Authorization header, answered together in
// request order. Each request is authorized, throttled and logged like
// the same request sent alone.
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
		seen[br.ID] = true
	}
	out := struct {
		Responses []batchResponse `json:"responses"`
	}{Responses: make([]batchResponse, 0, len(in.Requests))}
	for _, br := range in.Requests {
		var body io.Reader
		if len(br.Body) > 0 {
			body = bytes.NewReader(br.Body)
		}
		sub, err := http.NewRequestWithContext(r.Context(), strings.ToUpper(br.Method),
			"https://"+r.Host+"/v1.0/"+strings.TrimPrefix(br.URL, "/"), body)
		if err != nil {
			out.Responses = append(out.Responses, batchResponse{ID: br.ID, Status: http.StatusBadRequest,
				Body: json.RawMessage(`{"error":{"code":"BadRequest","message":"Invalid request URL."}}`)})
			continue
		}
		sub.Host = r.Host
		sub.RemoteAddr = r.RemoteAddr
		for k, v := range br.Headers {
			sub.Header.Set(k, v)
		}
		sub.Header.Set("Authorization", r.Header.Get("Authorization"))
		if len(br.Body) > 0 && sub.Header.Get("Content-Type") == "" {
			sub.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		s.graphMux.ServeHTTP(rec, sub)
		resp := batchResponse{ID: br.ID, Status: rec.Code, Headers: map[string]string{}}
		for _, k := range []string{"Content-Type", "Retry-After", "Location"} {
			if v := rec.Header().Get(k); v != "" {
				resp.Headers[k] = v
			}
		}
		if b := rec.Body.Bytes(); len(b) > 0 {
			if json.Valid(b) {
				resp.Body = json.RawMessage(b)
			} else {
				q, _ := json.Marshal(string(b))
				resp.Body = q
			}
		}
		out.Responses = append(out.Responses, resp)
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusInternalServerError, code: "generalException", msg: "Internal error."})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
