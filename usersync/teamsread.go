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
// configurations.
func (s *GraphSource) readJoined(ctx context.Context, cred azcore.TokenCredential, customer string, q Query, fn func(Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tr TeamsRead
	tf := q.TeamsFilter
	if tf != "" && s.teamsMem.isRefused(customer, tf) {
		tr.Refused, tf = tf, ""
	}
	var lister *teamsLister
	startList := func() {
		lister = &teamsLister{done: make(chan struct{})}
		go lister.run(ctx, s, cred, customer, tf)
	}
	if q.Filter == "" {
		startList() // every user: listing is the cheapest, and runs alongside /users
	}
	var pending [][]User // /users pages read while the listing runs
	pendingUsers := 0
	estimate := int64(-1)
	var configs map[string]*TeamsConfig
	filtered := false
	// emit joins one /users page with configs and passes it on, as one
	// page (so Result.Pages still counts the /users pages read).
	emit := func(users []User) error {
		out := users[:0]
		for i := range users {
			c, ok := configs[users[i].ID]
			if !ok && filtered {
				continue // the Teams $filter excludes it, so the filter does
			}
			users[i].Teams = c
			out = append(out, users[i])
		}
		return fn(Page{Users: out, Estimate: estimate, Teams: tr})
	}
	emitPending := func() error {
		for _, pg := range pending {
			if err := emit(pg); err != nil {
				return err
			}
		}
		pending, pendingUsers = nil, 0
		return nil
	}
	finishList := func() error {
		res := lister.wait()
		if res.err != nil {
			return res.err
		}
		configs, filtered = res.configs, res.filter != ""
		tr.Filter, tr.Requests = res.filter, res.requests
		if res.refused != "" {
			tr.Refused = res.refused
		}
		return nil
	}
	err := s.readUsers(ctx, cred, customer, q, func(p Page) error {
		estimate = p.Estimate
		if tr.Mode == TeamsNone {
			tr.Mode = TeamsList
			if lister == nil {
				if p.Estimate >= 0 && (p.Estimate+TeamsBatchSize-1)/TeamsBatchSize < int64(s.teamsMem.listPages(customer, tf)) {
					tr.Mode = TeamsBatch
				} else {
					startList()
				}
			}
		}
		if tr.Mode == TeamsBatch {
			n, err := s.batchTeams(ctx, cred, customer, p.Users)
			tr.Requests += n
			if err != nil {
				return err
			}
			p.Teams = tr
			return fn(p)
		}
		if configs == nil {
			if !lister.finished() && pendingUsers+len(p.Users) <= maxPendingUsers {
				pg := slices.Clone(p.Users)
				for i := range pg {
					pg[i].ProxyAddresses = slices.Clone(pg[i].ProxyAddresses)
				}
				pending = append(pending, pg)
				pendingUsers += len(pg)
				return nil
			}
			if err := finishList(); err != nil {
				return err
			}
			if err := emitPending(); err != nil {
				return err
			}
		}
		return emit(p.Users)
	})
	if err != nil {
		return err
	}
	if tr.Mode == TeamsList && configs == nil {
		if err := finishList(); err != nil {
			return err
		}
		return emitPending()
	}
	return nil
}

// teamsLister lists a tenant's Teams configurations in the background.
type teamsLister struct {
	done chan struct{}
	res  listResult
}

type listResult struct {
	configs  map[string]*TeamsConfig
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
	defer close(l.done)
	for {
		configs, pages, err := s.listTeams(ctx, cred, customer, tf)
		l.res.requests += pages
		var ge *m365access.Error
		if tf != "" && errors.As(err, &ge) && ge.HTTPStatus == http.StatusBadRequest {
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
		l.res.configs, l.res.filter = configs, tf
		return
	}
}

// listTeams lists every configuration tf selects; pages counts the
// requests made, failed ones included.
func (s *GraphSource) listTeams(ctx context.Context, cred azcore.TokenCredential, customer, tf string) (map[string]*TeamsConfig, int, error) {
	v := url.Values{}
	v.Set("$select", teamsSelect)
	v.Set("$top", strconv.Itoa(teamsPageSize))
	if tf != "" {
		v.Set("$filter", tf)
	}
	next := s.base + "/admin/teams/userConfigurations?" + v.Encode()
	configs := make(map[string]*TeamsConfig, teamsPageSize*min(s.teamsMem.listPages(customer, tf), 200))
	pages := 0
	for next != "" {
		req, err := s.newRequest(ctx, cred, customer, next, false)
		if err != nil {
			return nil, pages, err
		}
		pages++
		body, err := s.getBody(req, customer, "read Teams user configurations")
		if err != nil {
			return nil, pages, err
		}
		dec := s.decoder()
		next, err = dec.decodeTeamsPage(body, func(id string, c *TeamsConfig) { configs[id] = c })
		s.decoders.Put(dec)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, pages, ctxErr
			}
			return nil, pages, &m365access.Error{Op: "read Teams user configurations", Customer: customer,
				Err: fmt.Errorf("decode page: %w", err), Action: m365access.ActionWaitAndRetry, Retryable: true}
		}
	}
	return configs, pages, nil
}

// doJSON sends req and decodes a 200 answer's JSON body into v.
func (s *GraphSource) doJSON(req *http.Request, customer, op string, v any) error {
	body, err := s.getBody(req, customer, op)
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
// maxPageBytes).
func (s *GraphSource) getBody(req *http.Request, customer, op string) ([]byte, error) {
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err == nil && len(body) > maxPageBytes {
		err = fmt.Errorf("body larger than %d bytes", maxPageBytes)
	}
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &m365access.Error{Op: op, Customer: customer, Err: fmt.Errorf("read response: %w", err),
			Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	return body, nil
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
