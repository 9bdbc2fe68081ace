package qoe

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// maxNotificationBody bounds a notification request body (before
// ReceiverLimits.MaxNotifications bounds the notifications in it).
const maxNotificationBody = 1 << 20

// maxValidationToken bounds an echoed validationToken.
const maxValidationToken = 1024

// ackBudget is how long the receiver spends queueing before it gives up
// with 503 (Graph wants an answer within 3 seconds and retries).
const ackBudget = 2500 * time.Millisecond

// notification is one change or lifecycle notification.
type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	ChangeType     string `json:"changeType"`
	Resource       string `json:"resource"`
	TenantID       string `json:"tenantId"`
	LifecycleEvent string `json:"lifecycleEvent"`
	ResourceData   *struct {
		ID string `json:"id"`
	} `json:"resourceData"`
}

// callID returns the call record ID the notification names.
func (n *notification) callID() string {
	if n.ResourceData != nil && n.ResourceData.ID != "" {
		return strings.ToLower(n.ResourceData.ID)
	}
	res := strings.TrimPrefix(n.Resource, "/")
	if id, ok := strings.CutPrefix(strings.ToLower(res), "communications/callrecords/"); ok && id != "" && !strings.Contains(id, "/") {
		return id
	}
	// Graph also writes "communications/callRecords('id')".
	if i := strings.Index(res, "('"); i >= 0 && strings.HasSuffix(res, "')") {
		return strings.ToLower(res[i+2 : len(res)-2])
	}
	return ""
}

// Handler returns the change and lifecycle notification receiver, to be
// mounted at the NotificationURL (POST only; no Authorizer: Microsoft
// calls it, and each notification's clientState is checked in constant
// time against the subscription's). A POST with validationToken echoes
// it as text/plain. Otherwise every notification with the right
// clientState is queued as a River job before the answer (202), so a
// crash after the answer loses nothing; a notification with an unknown
// subscription or a wrong clientState is counted and dropped (403 when
// none was accepted). Queueing that does not finish within 2.5 s
// answers 503 and Graph delivers again.
//
// The receiver is unauthenticated, so its work is bounded (see
// ReceiverLimits): a client over its rate is answered 429 and a POST
// that finds the receiver busy 503, both with Retry-After and before the
// body is read; a POST of more than MaxNotifications is answered 413.
// Each distinct subscription of a POST is looked up once (one query for
// all of them), unknown ones are remembered for 10 s, refusals cost
// one log line and one counter update per subscription and POST, and
// the jobs of a POST are de-duplicated and inserted in one transaction.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveNotifications)
}

func (s *Service) serveNotifications(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if tok, ok := r.URL.Query()["validationToken"]; ok {
		if len(tok) != 1 || len(tok[0]) > maxValidationToken {
			http.Error(w, "bad validationToken", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok[0])
		return
	}
	if ok, wait := s.clients.allow(s.cfg.Receiver.ClientKey(r)); !ok {
		s.stats.limited.Add(1)
		w.Header().Set("Retry-After", retryAfter(wait))
		http.Error(w, "too many requests from this client", http.StatusTooManyRequests)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ackBudget)
	defer cancel()
	if !s.acquireSlot(ctx) {
		s.stats.busy.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy, try again", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-s.slots }()
	ns, err := decodeNotifications(http.MaxBytesReader(w, r.Body, maxNotificationBody), s.cfg.Receiver.MaxNotifications)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, errTooMany):
		s.stats.rejected.Add(int64(len(ns)))
		s.log.WarnContext(ctx, "qoe: notification request refused: too many notifications", "max", s.cfg.Receiver.MaxNotifications)
		http.Error(w, "too many notifications in one request", http.StatusRequestEntityTooLarge)
		return
	case err != nil || len(ns) == 0:
		http.Error(w, "not a notification collection", http.StatusBadRequest)
		return
	}
	accepted, err := s.acceptAll(ctx, ns)
	if err != nil {
		s.log.ErrorContext(ctx, "qoe: queueing notifications failed; Graph will deliver them again", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if accepted == 0 {
		http.Error(w, "refused", http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// errTooMany: the collection holds more than MaxNotifications.
var errTooMany = errors.New("too many notifications")

// decodeNotifications reads {"value":[...]} from r, notification by
// notification, and stops with errTooMany at the (max+1)th: a long
// collection is refused without reading or decoding the rest of it.
func decodeNotifications(r io.Reader, max int) ([]notification, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var out []notification
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := tok.(string); key != "value" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		for dec.More() {
			if len(out) == max {
				return out, errTooMany
			}
			var n notification
			if err := dec.Decode(&n); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the collection")
	}
	return out, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %v", d)
	}
	return nil
}

// acquireSlot takes one of the MaxConcurrent slots, waiting at most
// until ctx (the request's acknowledgement budget) ends.
func (s *Service) acquireSlot(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(1, secs), 10)
}

// acceptAll checks the notifications of one request and queues their
// jobs, de-duplicated, in one insert. It returns how many notifications
// were accepted.
func (s *Service) acceptAll(ctx context.Context, ns []notification) (int, error) {
	ids := make([]string, 0, 4)
	for i := range ns {
		if !slices.Contains(ids, ns[i].SubscriptionID) {
			ids = append(ids, ns[i].SubscriptionID)
		}
	}
	subs, err := s.lookupSubs(ctx, ids)
	if err != nil {
		return 0, err
	}
	var (
		accepted, unknown, ignored int
		wrong                      = map[string]int{} // known subscription -> wrong clientStates
		params                     []river.InsertManyParams
		seen                       = map[river.JobArgs]bool{}
		calls, lifecycle           int
	)
	add := func(args river.JobArgs) bool {
		if seen[args] {
			return false
		}
		seen[args] = true
		params = append(params, river.InsertManyParams{Args: args})
		return true
	}
	for i := range ns {
		n := &ns[i]
		sub, found := subs[n.SubscriptionID]
		if !found {
			unknown++
			continue
		}
		if !clientStateOK(sub.hash, n.ClientState) {
			wrong[n.SubscriptionID]++
			continue
		}
		accepted++
		if n.LifecycleEvent != "" {
			switch n.LifecycleEvent {
			case lifecycleReauthorize, lifecycleRemoved, lifecycleMissed:
				if add(LifecycleArgs{Customer: sub.customer, SubscriptionID: n.SubscriptionID, Event: n.LifecycleEvent}) {
					lifecycle++
				}
			default:
				ignored++
			}
			continue
		}
		id := n.callID()
		if id == "" || len(id) > 200 {
			ignored++
			continue
		}
		if add(FetchCallArgs{Customer: sub.customer, CallID: id}) {
			calls++
		}
	}
	if refused := unknown + sumValues(wrong); refused > 0 {
		s.stats.rejected.Add(int64(refused))
		s.log.WarnContext(ctx, "qoe: notifications refused: unknown subscription or wrong clientState",
			"refused", refused, "unknownSubscription", unknown, "wrongClientState", refused-unknown, "subscriptions", len(ids))
		for id, k := range wrong {
			if err := s.cfg.Store.addRejected(ctx, id, k); err != nil {
				s.log.WarnContext(ctx, "qoe: counting refused notifications failed", "err", err)
			}
		}
	}
	if ignored > 0 {
		s.log.InfoContext(ctx, "qoe: notifications without a call record ID or with an unknown lifecycle event ignored", "ignored", ignored)
	}
	if len(params) > 0 {
		if err := s.insertMany(ctx, params); err != nil {
			return 0, err
		}
	}
	s.stats.accepted.Add(int64(calls))
	s.stats.lifecycle.Add(int64(lifecycle))
	return accepted, nil
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// batchInserter is the InsertMany of *river.Client: one transaction for
// many jobs.
type batchInserter interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// insertMany queues params in one transaction when the inserter can (a
// *river.Client), else one by one.
func (s *Service) insertMany(ctx context.Context, params []river.InsertManyParams) error {
	b := s.jobs.Load()
	if b == nil {
		return errNoInserter
	}
	if bi, ok := b.Inserter.(batchInserter); ok {
		_, err := bi.InsertMany(ctx, params)
		return err
	}
	for _, p := range params {
		if _, err := b.Insert(ctx, p.Args, p.InsertOpts); err != nil {
			return err
		}
	}
	return nil
}

// clientStateOK compares the hash of got with the stored hash in
// constant time.
func clientStateOK(storedHex, got string) bool {
	want, err := hex.DecodeString(storedHex)
	if err != nil || len(want) == 0 {
		return false
	}
	h, _ := hex.DecodeString(hashState(got))
	return subtle.ConstantTimeCompare(want, h) == 1
}

func clipID(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}
