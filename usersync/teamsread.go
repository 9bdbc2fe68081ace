package usersync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/m365access"
)

// Teams reading: how a GraphSource joins users with their Teams Phone
// System configuration.
//
// The planner picks by the /users side's @odata.count. Fetching the
// configurations of C selected users by ID costs ceil(C/20) JSON batches;
// listing the tenant's configurations costs one request per 999 (fewer
// with an accepted Teams $filter). The source remembers how many pages
// each customer's listing took and batches when that is cheaper; before
// the first listing it assumes DefaultTeamsListPages. A sync of every user
// lists, concurrently with reading /users.
const (
	// TeamsBatchSize is how many users' configurations one JSON $batch
	// fetches (Graph's limit of requests per batch).
	TeamsBatchSize = 20
	// DefaultTeamsListPages is the listing cost assumed for a customer
	// never listed: a 50,000-user tenant, 999 a page.
	DefaultTeamsListPages = 51
	// teamsPageSize is the $top of a Teams listing.
	teamsPageSize = 999
	// maxPendingUsers bounds the users a listing read holds while the
	// Teams configurations are still being listed.
	maxPendingUsers = 20_000
	// batchConcurrency is how many JSON batches run at once.
	batchConcurrency = 4
)

// teamsMemory is what a GraphSource remembers per customer.
type teamsMemory struct {
	mu      sync.Mutex
	refused map[string]bool // customer "\x00" $filter refused with 400
	pages   map[string]int  // customer "\x00" $filter (or "") -> pages the last listing took
	listed  map[string]bool // customer "\x00" /users $filter -> its last sync listed the Teams configurations
}

func (m *teamsMemory) wasListed(customer, usersFilter string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listed[customer+"\x00"+usersFilter]
}

func (m *teamsMemory) setListed(customer, usersFilter string, listed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listed == nil {
		m.listed = map[string]bool{}
	}
	m.listed[customer+"\x00"+usersFilter] = listed
}

func (m *teamsMemory) isRefused(customer, f string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused[customer+"\x00"+f]
}

func (m *teamsMemory) refuse(customer, f string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]bool{}
	}
	m.refused[customer+"\x00"+f] = true
}

func (m *teamsMemory) listPages(customer, f string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.pages[customer+"\x00"+f]; ok {
		return n
	}
	if n, ok := m.pages[customer+"\x00"]; ok {
		return n
	}
	return DefaultTeamsListPages
}

func (m *teamsMemory) setPages(customer, f string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pages == nil {
		m.pages = map[string]int{}
	}
	m.pages[customer+"\x00"+f] = n
}

// TeamsFilterRefused reports whether Graph refused the userConfigurations
// $filter f for the customer; such a filter is no longer sent for it.
func (s *GraphSource) TeamsFilterRefused(customer, f string) bool {
	return s.teamsMem.isRefused(customer, f)
}

// readJoined reads the users selected by q joined with their Teams
// configurations. Every user: the listing is certain, and runs
// alongside /users (readListed). A filtered read: the first /users page
// comes alone, its @odata.count picks batching by ID or listing, and a
// listing then advances with /users in shared JSON batches (readPaired).
func (s *GraphSource) readJoined(ctx context.Context, cred azcore.TokenCredential, customer string, q Query, fn func(Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tr TeamsRead
	tf := q.TeamsFilter
	if tf != "" && s.teamsMem.isRefused(customer, tf) {
		tr.Refused, tf = tf, ""
	}
	if q.Filter == "" {
		return s.readListed(ctx, cred, customer, q, tf, tr, fn)
	}
	return s.readPaired(ctx, cred, customer, q, tf, tr, fn)
}

// readListed reads every /users page while a goroutine lists the Teams
// configurations, joining them as both arrive (teamsJoin).
func (s *GraphSource) readListed(ctx context.Context, cred azcore.TokenCredential, customer string, q Query, tf string, tr TeamsRead, fn func(Page) error) error {
	j := newTeamsJoin()
	l := &teamsLister{done: make(chan struct{}), join: j}
	go l.run(ctx, s, cred, customer, tf)
	tr.Mode = TeamsList
	estimate := int64(-1)
	emit := func(users []User) error {
		tr := tr
		if l.finished() {
			tr.Filter, tr.Requests = l.res.filter, l.res.requests
			if l.res.refused != "" {
				tr.Refused = l.res.refused
			}
		}
		return fn(Page{Users: users, Estimate: estimate, Teams: tr})
	}
	failed := func() error {
		if l.finished() {
			return l.res.err
		}
		return nil
	}
	err := s.readUsers(ctx, cred, customer, q, func(p Page) error {
		estimate = p.Estimate
		if err := failed(); err != nil {
			return err
		}
		if err := j.push(p.Users, emit); err != nil {
			return err
		}
		// The listing is behind: hold at most maxPendingUsers users.
		for j.pendingUsers > maxPendingUsers && !l.finished() {
			if err := j.wait(ctx); err != nil {
				return err
			}
			if err := j.flush(emit); err != nil {
				return err
			}
		}
		return failed()
	})
	if err != nil {
		return err
	}
	if res := l.wait(); res.err != nil {
		return res.err
	}
	return j.drain(emit)
}

// teamsLister lists a tenant's Teams configurations in the background,
// into a teamsJoin.
type teamsLister struct {
	join *teamsJoin
	done chan struct{}
	res  listResult // set before done is closed
}

type listResult struct {
	filter   string // the $filter Graph evaluated, "" for none
	refused  string // a $filter Graph refused
	requests int
	err      error
}

func (l *teamsLister) finished() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *teamsLister) wait() listResult {
	<-l.done
	return l.res
}

func (l *teamsLister) run(ctx context.Context, s *GraphSource, cred azcore.TokenCredential, customer, tf string) {
	defer l.join.signal() // a reader waiting for progress sees the end, or the failure
	defer close(l.done)
	for {
		pages, err := s.listTeams(ctx, cred, customer, tf, l.join.add)
		l.res.requests += pages
		if tf != "" && isRefusal(err) {
			// Graph documents no $filter support here: read without it.
			s.teamsMem.refuse(customer, tf)
			l.res.refused, tf = tf, ""
			continue
		}
		if err != nil {
			l.res.err = err
			return
		}
		s.teamsMem.setPages(customer, tf, pages)
		l.res.filter = tf
		l.join.end(tf != "")
		return
	}
}

// isRefusal reports whether err is Graph's 400 for a request.
func isRefusal(err error) bool {
	var ge *m365access.Error
	return errors.As(err, &ge) && ge.HTTPStatus == http.StatusBadRequest
}

// teamsFirstURL is the first page of a listing with the $filter tf.
func (s *GraphSource) teamsFirstURL(tf string) string {
	v := url.Values{}
	v.Set("$select", teamsSelect)
	v.Set("$top", strconv.Itoa(teamsPageSize))
	if tf != "" {
		v.Set("$filter", tf)
	}
	return s.base + "/admin/teams/userConfigurations?" + v.Encode()
}

// listTeams lists every configuration tf selects, passing each page's to
// add; pages counts the requests made, failed ones included.
func (s *GraphSource) listTeams(ctx context.Context, cred azcore.TokenCredential, customer, tf string, add func([]teamsPair)) (int, error) {
	next := s.teamsFirstURL(tf)
	pages := 0
	var pairs []teamsPair
	var buf []byte
	for next != "" {
		req, err := s.newRequest(ctx, cred, customer, next, false)
		if err != nil {
			return pages, err
		}
		pages++
		body, err := s.getBody(req, customer, opTeams, buf)
		if err != nil {
			return pages, err
		}
		buf = body
		if next, pairs, err = s.decodeTeams(ctx, customer, body, pairs[:0]); err != nil {
			return pages, err
		}
		add(pairs)
	}
	return pages, nil
}

const opTeams = "read Teams user configurations"

// decodeTeams decodes a userConfigurations page into pairs.
func (s *GraphSource) decodeTeams(ctx context.Context, customer string, body []byte, pairs []teamsPair) (string, []teamsPair, error) {
	dec := s.decoder()
	next, err := dec.decodeTeamsPage(body, func(id string, c *TeamsConfig) { pairs = append(pairs, teamsPair{id, c}) })
	s.decoders.Put(dec)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", nil, ctxErr
		}
		return "", nil, &m365access.Error{Op: opTeams, Customer: customer,
			Err: fmt.Errorf("decode page: %w", err), Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	return next, pairs, nil
}

// doJSON sends req and decodes a 200 answer's JSON body into v.
func (s *GraphSource) doJSON(req *http.Request, customer, op string, v any) error {
	body, err := s.getBody(req, customer, op, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &m365access.Error{Op: op, Customer: customer, Err: fmt.Errorf("decode response: %w", err),
			Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	return nil
}

// getBody sends req and returns a 200 answer's body (at most
// maxPageBytes), read into buf's array when it is large enough (the
// caller reuses it for the next page).
func (s *GraphSource) getBody(req *http.Request, customer, op string, buf []byte) ([]byte, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &m365access.Error{Op: op, Customer: customer, Err: err, Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		return nil, m365access.ParseGraphError(op, customer, resp.StatusCode, resp.Header, body)
	}
	body, err := readBody(resp.Body, resp.ContentLength, buf[:0])
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &m365access.Error{Op: op, Customer: customer, Err: fmt.Errorf("read response: %w", err),
			Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	return body, nil
}

// readBody reads r to its end into body (appending), sized by the
// Content-Length hint when known, and refuses more than maxPageBytes.
func readBody(r io.Reader, sizeHint int64, body []byte) ([]byte, error) {
	if sizeHint > 0 && sizeHint <= maxPageBytes && int64(cap(body)-len(body)) < sizeHint+1 {
		body = slices.Grow(body, int(sizeHint)+1) // +1: Read sees EOF without growing
	}
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if len(body) > maxPageBytes {
			return nil, fmt.Errorf("body larger than %d bytes", maxPageBytes)
		}
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

type batchItem struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batchRetries is how often a request a batch answered 429, 503 or 504
// is sent again.
const batchRetries = 3

// batchTeams sets the Teams configuration of each of users, fetched by
// ID, TeamsBatchSize per JSON batch; it returns the batches sent.
func (s *GraphSource) batchTeams(ctx context.Context, cred azcore.TokenCredential, customer string, users []User) (int, error) {
	var g errgroup.Group
	g.SetLimit(batchConcurrency)
	var mu sync.Mutex
	sent := 0
	for start := 0; start < len(users); start += TeamsBatchSize {
		chunk := users[start:min(start+TeamsBatchSize, len(users))]
		g.Go(func() error {
			n, err := s.batchChunk(ctx, cred, customer, chunk)
			mu.Lock()
			sent += n
			mu.Unlock()
			return err
		})
	}
	err := g.Wait()
	return sent, err
}

func (s *GraphSource) batchChunk(ctx context.Context, cred azcore.TokenCredential, customer string, users []User) (int, error) {
	const op = "read Teams user configurations"
	todo := make([]int, len(users))
	for i := range todo {
		todo[i] = i
	}
	sent := 0
	for attempt := 0; len(todo) > 0; attempt++ {
		items := make([]batchItem, len(todo))
		for k, i := range todo {
			items[k] = batchItem{ID: strconv.Itoa(i), Method: http.MethodGet,
				URL: "/admin/teams/userConfigurations/" + url.PathEscape(users[i].ID) + "?$select=" + teamsSelect}
		}
		body, err := json.Marshal(map[string]any{"requests": items})
		if err != nil {
			return sent, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/$batch", bytes.NewReader(body))
		if err != nil {
			return sent, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if err := graphhttp.Authorize(ctx, req, cred, s.scopes, s.hosts); err != nil {
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
			return sent, fmt.Errorf("usersync: token for customer %q: %w", customer, err)
		}
		sent++
		var out struct {
			Responses []batchAnswer `json:"responses"`
		}
		if err := s.doJSON(req, customer, op, &out); err != nil {
			return sent, err
		}
		var again []int
		var wait time.Duration
		answered := 0
		for _, a := range out.Responses {
			i, err := strconv.Atoi(a.ID)
			if err != nil || i < 0 || i >= len(users) || !slices.Contains(todo, i) {
				continue
			}
			answered++
			switch a.Status {
			case http.StatusOK:
				var w teamsWire
				if err := json.Unmarshal(a.Body, &w); err != nil {
					return sent, &m365access.Error{Op: op, Customer: customer, Err: fmt.Errorf("decode batch response: %w", err),
						Action: m365access.ActionWaitAndRetry, Retryable: true}
				}
				users[i].Teams = w.config()
			case http.StatusNotFound:
				users[i].Teams = nil // no Teams configuration
			case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				h := http.Header{}
				for k, v := range a.Headers {
					h.Set(k, v)
				}
				e := m365access.ParseGraphError(op, customer, a.Status, h, a.Body)
				if attempt >= batchRetries {
					return sent, e
				}
				wait = max(wait, e.RetryAfter, time.Duration(1<<attempt)*time.Second)
				again = append(again, i)
			default:
				h := http.Header{}
				for k, v := range a.Headers {
					h.Set(k, v)
				}
				return sent, m365access.ParseGraphError(op, customer, a.Status, h, a.Body)
			}
		}
		if answered != len(todo) {
			return sent, &m365access.Error{Op: op, Customer: customer, Err: fmt.Errorf("the batch answered %d of %d requests", answered, len(todo)),
				Action: m365access.ActionWaitAndRetry, Retryable: true}
		}
		todo = again
		if len(todo) > 0 {
			t := time.NewTimer(min(wait, 30*time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return sent, ctx.Err()
			case <-t.C:
			}
		}
	}
	return sent, nil
}
