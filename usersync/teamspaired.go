package usersync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// Paired reading: a filtered /users read whose Teams configurations are
// listed advances both listings in shared JSON batches. After the first
// /users page (alone: its @odata.count picks the plan), each round trip
// is one $batch holding the next link of each listing still open, so a
// sync takes 1 + max(/users pages - 1, Teams pages) round trips instead of
// their sum. When the same query listed in the customer's previous sync,
// the first round trip already holds both first pages (max(/users pages,
// Teams pages) round trips) and this sync's $count decides the next one. Graph still counts, and throttles, each request inside a
// batch: TeamsRead.Requests and Result.Requests count those, and
// TeamsRead.Shared says how many Teams requests rode in a batch with a
// /users page. Each inner answer has its own status: a 429, 503 or 504
// is sent again in the next round after its Retry-After, a 400 on the
// Teams $filter restarts the listing without it (and is remembered), any
// other error fails the read. A next link outside GraphOptions.BaseURL
// (which a batch cannot carry: its URLs are relative to the version) is
// read alone.

// pairIDs are the request ids of a paired batch.
const (
	pairUsers = "users"
	pairTeams = "teams"
)

// batchRequestItem is one request of a JSON batch.
type batchRequestItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// relative returns link relative to the Graph version (for a $batch),
// or false when link is not under the source's BaseURL.
func (s *GraphSource) relative(link string) (string, bool) {
	rest, ok := strings.CutPrefix(link, s.base)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}

// pairState is the progress of a paired read.
type pairState struct {
	s        *GraphSource
	ctx      context.Context
	cred     azcore.TokenCredential
	customer string
	count    bool // /users requests carry ConsistencyLevel: eventual

	usersNext, teamsNext string
	tf                   string // the Teams $filter sent, "" for none
	listPages            int    // requests of the current listing (since a refusal restarted it)
	estimate             int64
	tr                   TeamsRead
	join                 *teamsJoin
	page                 wirePage
	pairs                []teamsPair
	parts                []batchPart
	buf                  []byte // response bodies, reused
	throttled            int    // consecutive rounds with an inner 429, 503 or 504
	tally                readTally
	fn                   func(Page) error
}

func (st *pairState) emit(users []User) error {
	return st.fn(Page{Users: users, Estimate: st.estimate, Teams: st.tr})
}

// readPaired reads the /users pages q selects, filtered, joined with
// their Teams configurations (see the comment above).
func (s *GraphSource) readPaired(ctx context.Context, cred azcore.TokenCredential, customer string, q Query, tf string, tr TeamsRead, fn func(Page) error) error {
	count := q.Advanced || !s.noCount
	first := s.firstURL(q, count)
	if count && len(first) > filter.MaxURLLength {
		return &m365access.Error{Op: "read users", Customer: customer, Action: m365access.ActionFixFilter,
			Err: fmt.Errorf("the request URL is %d characters, over the %d Graph accepts in an advanced query: compile the filter with usersync/filter, which splits it into queries within Graph's limits", len(first), filter.MaxURLLength)}
	}
	st := &pairState{s: s, ctx: ctx, cred: cred, customer: customer, count: count, tf: tf, tr: tr, estimate: -1, fn: fn, tally: newTally(),
		page: wirePage{users: make([]User, 0, s.pageSize)}}
	dec := s.decoder()
	defer s.decoders.Put(dec)
	byID := func() bool { // fetching by ID costs fewer requests than listing
		e := st.estimate
		return e >= 0 && (e+TeamsBatchSize-1)/TeamsBatchSize < int64(s.teamsMem.listPages(customer, tf))
	}
	_, relOK := s.relative(first)
	if relOK && s.teamsMem.wasListed(customer, q.Filter) {
		// This query listed last time: the first /users page rides with
		// the first Teams page, and its $count only decides the next sync.
		st.tr.Mode, st.join = TeamsList, newTeamsJoin()
		st.usersNext, st.teamsNext = first, s.teamsFirstURL(tf)
		defer func() { s.teamsMem.setListed(customer, q.Filter, !byID()) }()
	} else {
		req, err := s.newRequest(ctx, cred, customer, first, count)
		if err != nil {
			return err
		}
		if err := s.fetch(req, customer, dec, &st.page); err != nil {
			return err
		}
		st.tally.add(&st.page)
		st.usersNext = st.page.next
		if st.page.count >= 0 {
			st.estimate = st.page.count
		}
		if byID() {
			return st.byID(dec)
		}
		s.teamsMem.setListed(customer, q.Filter, true)
		st.tr.Mode = TeamsList
		st.join = newTeamsJoin()
		if err := st.join.push(st.page.users, st.emit); err != nil {
			return err
		}
		st.teamsNext = s.teamsFirstURL(tf)
	}
	for st.usersNext != "" || st.teamsNext != "" {
		if err := st.round(dec); err != nil {
			return err
		}
		if err := st.join.flush(st.emit); err != nil {
			return err
		}
	}
	if err := st.tally.check(st.customer); err != nil {
		return err
	}
	return st.join.drain(st.emit)
}

// byID reads the remaining /users pages, fetching each page's Teams
// configurations by ID (JSON batches of TeamsBatchSize).
func (st *pairState) byID(dec *pageDecoder) error {
	st.tr.Mode = TeamsBatch
	for {
		n, err := st.s.batchTeams(st.ctx, st.cred, st.customer, st.page.users)
		st.tr.Requests += n
		if err != nil {
			return err
		}
		if err := st.emit(st.page.users); err != nil {
			return err
		}
		if st.usersNext == "" {
			return st.tally.check(st.customer)
		}
		req, err := st.s.newRequest(st.ctx, st.cred, st.customer, st.usersNext, st.count)
		if err != nil {
			return err
		}
		if err := st.s.fetch(req, st.customer, dec, &st.page); err != nil {
			return err
		}
		st.tally.add(&st.page)
		st.usersNext = st.page.next
		if st.page.count >= 0 {
			st.estimate = st.page.count
		}
	}
}

// round advances the open listings by one round trip.
func (st *pairState) round(dec *pageDecoder) error {
	// While the listing is behind, hold at most maxPendingUsers users.
	users := st.usersNext != "" && st.join.pendingUsers <= maxPendingUsers
	teams := st.teamsNext != ""
	ru, okU := st.s.relative(st.usersNext)
	rt, okT := st.s.relative(st.teamsNext)
	if users && teams && okU && okT {
		return st.batch(dec, ru, rt)
	}
	if users {
		req, err := st.s.newRequest(st.ctx, st.cred, st.customer, st.usersNext, st.count)
		if err != nil {
			return err
		}
		if err := st.s.fetch(req, st.customer, dec, &st.page); err != nil {
			return err
		}
		if err := st.usersPage(); err != nil {
			return err
		}
	}
	if teams {
		req, err := st.s.newRequest(st.ctx, st.cred, st.customer, st.teamsNext, false)
		if err != nil {
			return err
		}
		st.tr.Requests++
		st.listPages++
		body, err := st.s.getBody(req, st.customer, opTeams, st.buf)
		if err != nil {
			if st.tf != "" && isRefusal(err) {
				st.refused()
				return nil
			}
			return err
		}
		st.buf = body
		return st.teamsPage(body)
	}
	return nil
}

// usersPage takes the /users page just decoded into st.page.
func (st *pairState) usersPage() error {
	st.tally.add(&st.page)
	st.usersNext = st.page.next
	if st.page.count >= 0 {
		st.estimate = st.page.count
	}
	return st.join.push(st.page.users, st.emit)
}

// teamsPage takes a userConfigurations page body.
func (st *pairState) teamsPage(body []byte) error {
	next, pairs, err := st.s.decodeTeams(st.ctx, st.customer, body, st.pairs[:0])
	if err != nil {
		return err
	}
	st.pairs = pairs
	st.join.add(pairs)
	st.teamsNext = next
	if next == "" {
		st.s.teamsMem.setPages(st.customer, st.tf, st.listPages)
		st.tr.Filter = st.tf
		st.join.end(st.tf != "")
	}
	return nil
}

// refused restarts the listing without the $filter Graph refused.
func (st *pairState) refused() {
	st.s.teamsMem.refuse(st.customer, st.tf)
	st.tr.Refused, st.tf = st.tf, ""
	st.teamsNext, st.listPages = st.s.teamsFirstURL(""), 0
}

// batch sends the next /users page (relative link ru) and the next Teams
// page (rt) in one JSON batch and takes both answers.
func (st *pairState) batch(dec *pageDecoder, ru, rt string) error {
	s := st.s
	items := []batchRequestItem{{ID: pairUsers, Method: http.MethodGet, URL: ru}, {ID: pairTeams, Method: http.MethodGet, URL: rt}}
	if st.count {
		items[0].Headers = map[string]string{"ConsistencyLevel": "eventual"}
	}
	payload, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(telemetry.WithCustomer(st.ctx, st.customer), http.MethodPost, s.base+"/$batch", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if err := graphhttp.Authorize(st.ctx, req, st.cred, s.scopes, s.hosts); err != nil {
		if st.ctx.Err() != nil {
			return st.ctx.Err()
		}
		return fmt.Errorf("usersync: token for customer %q: %w", st.customer, err)
	}
	st.tr.Requests++
	st.tr.Shared++
	st.listPages++
	body, err := s.getBody(req, st.customer, "read users and Teams user configurations", st.buf)
	if err != nil {
		return err
	}
	st.buf = body
	bdec := s.decoder()
	st.parts, err = bdec.decodeBatch(body, st.parts)
	s.decoders.Put(bdec)
	if err != nil {
		if ctxErr := st.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &m365access.Error{Op: "read users and Teams user configurations", Customer: st.customer,
			Err: fmt.Errorf("decode batch response: %w", err), Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	var gotU, gotT bool
	var wait time.Duration
	var throttle *m365access.Error
	for i := range st.parts {
		p := &st.parts[i]
		var op string
		switch {
		case p.id == pairUsers && !gotU:
			gotU, op = true, "read users"
		case p.id == pairTeams && !gotT:
			gotT, op = true, opTeams
		default:
			continue
		}
		switch p.status {
		case http.StatusOK:
			if op == opTeams {
				if err := st.teamsPage(p.body); err != nil {
					return err
				}
				continue
			}
			if err := dec.decode(p.body, &st.page); err != nil {
				return &m365access.Error{Op: op, Customer: st.customer,
					Err: fmt.Errorf("decode page: %w", err), Action: m365access.ActionWaitAndRetry, Retryable: true}
			}
			if err := st.usersPage(); err != nil {
				return err
			}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			// Sent again next round: the link stays.
			throttle = m365access.ParseGraphError(op, st.customer, p.status, p.header, p.body)
			wait = max(wait, throttle.RetryAfter)
		case http.StatusBadRequest:
			if op == opTeams && st.tf != "" {
				st.refused()
				continue
			}
			fallthrough
		default:
			return m365access.ParseGraphError(op, st.customer, p.status, p.header, p.body)
		}
	}
	if !gotU || !gotT {
		return &m365access.Error{Op: "read users and Teams user configurations", Customer: st.customer,
			Err: fmt.Errorf("the batch answered %d of 2 requests", len(st.parts)), Action: m365access.ActionWaitAndRetry, Retryable: true}
	}
	if throttle == nil {
		st.throttled = 0
		return nil
	}
	if st.throttled >= batchRetries {
		return throttle
	}
	wait = max(wait, time.Duration(1<<st.throttled)*time.Second)
	st.throttled++
	t := time.NewTimer(min(wait, 30*time.Second))
	defer t.Stop()
	select {
	case <-st.ctx.Done():
		return st.ctx.Err()
	case <-t.C:
		return nil
	}
}
