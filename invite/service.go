package invite

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/typednil"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// DefaultTTL is how long an invitation link works when Options.TTL is zero.
const DefaultTTL = 7 * 24 * time.Hour

// Options configures a Service. Store and PublicBaseURL are required;
// every other zero value means the documented default.
type Options struct {
	// Store keeps the invitations and the hashes of their tokens.
	Store tokenstore.Store
	// Mailer sends the emails. Without one, Send and Resend fail and only
	// Create (which hands the link to the caller) works.
	Mailer Mailer
	// PublicBaseURL is the absolute http(s) URL under which the host serves
	// the customer-facing pages, for example "https://portal.example.com"
	// or "https://example.com/m365". Links are PublicBaseURL +
	// "/invite/{token}"; it is the only source of their scheme and host
	// (never a request's Host header). With m365access, give it the
	// Manager's PublicURLs().BaseURL: httpapi refuses a Service whose base
	// URL differs from the Manager's.
	PublicBaseURL string
	// TTL is how long a link works. Default: DefaultTTL (7 days).
	TTL time.Duration
	// RateLimits bounds sends and redeem guesses; see RateLimits.
	RateLimits RateLimits
	// Permissions are listed in the email. Default: DefaultPermissions.
	Permissions []Permission
	// Branding presents the provider in the email.
	Branding Branding
	// Templates render the email. Default: DefaultTemplates().
	Templates *Templates
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger receives one record per state change. It never receives
	// tokens, links or message bodies. Default: slog.Default().
	Logger *slog.Logger
}

// Service manages the invitations of all customers. It is safe for
// concurrent use; create one per process and share it.
type Service struct {
	store       tokenstore.Store
	mailer      Mailer
	base        string // PublicBaseURL without trailing slash
	ttl         time.Duration
	limits      RateLimits
	permissions []Permission
	branding    Branding
	templates   *Templates
	now         func() time.Time
	log         *slog.Logger
	limiter     *limiter
	ids         idGen
}

// PublicBaseURL returns the base URL of the invitation links, without a
// trailing slash.
func (s *Service) PublicBaseURL() string { return s.base }

// New checks opts and returns a Service. Configuration errors are
// *ValidationError naming the Options field.
func New(opts Options) (*Service, error) {
	var fe fieldErrors
	if opts.Store == nil {
		fe.add("Store", "is required")
	}
	if opts.Mailer != nil && typednil.Is(opts.Mailer) {
		fe.add("Mailer", "holds a nil pointer: set a Mailer (smtpmail, graphmail, outbox) or leave it nil for Create-only use")
	}
	base, err := checkBaseURL(opts.PublicBaseURL)
	if err != nil {
		fe.add("PublicBaseURL", err.Error())
	}
	if opts.TTL < 0 {
		fe.add("TTL", "must not be negative")
	}
	b := opts.Branding
	if b.ProviderName == "" {
		b.ProviderName = "Your service provider"
	}
	if b.Language == "" {
		b.Language = "en"
	}
	fe.checkText("Branding.ProviderName", b.ProviderName, true)
	fe.checkText("Branding.Language", b.Language, true)
	fe.checkAddress("Branding.SupportEmail", b.SupportEmail, false)
	for _, u := range [...]struct{ field, v string }{{"Branding.LogoURL", b.LogoURL}, {"Branding.SupportURL", b.SupportURL}} {
		if u.v == "" {
			continue
		}
		if _, err := checkBaseURL(u.v); err != nil {
			fe.add(u.field, err.Error())
		}
	}
	perms := opts.Permissions
	if len(perms) == 0 {
		perms = DefaultPermissions
	}
	for i, p := range perms {
		fe.checkText(fmt.Sprintf("Permissions[%d].Name", i), p.Name, true)
		fe.checkText(fmt.Sprintf("Permissions[%d].Reason", i), p.Reason, true)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	s := &Service{
		store:       opts.Store,
		mailer:      opts.Mailer,
		base:        base,
		ttl:         cmpOr(opts.TTL, DefaultTTL),
		limits:      opts.RateLimits.withDefaults(),
		permissions: slices.Clone(perms),
		branding:    b,
		templates:   opts.Templates,
		now:         opts.Now,
		log:         opts.Logger,
		limiter:     newLimiter(opts.RateLimits.withDefaults().MaxKeys),
	}
	if s.templates == nil {
		s.templates = DefaultTemplates()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if u, _ := url.Parse(base); u.Scheme == "http" && !isLoopback(u.Hostname()) {
		s.log.Warn("invitation links use plain http on a non-loopback host: anyone on the path can read the tokens; use https", "host", u.Host)
	}
	return s, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkBaseURL accepts an absolute http or https URL without user
// information, query or fragment and returns it without trailing slash.
func checkBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("is required (an absolute URL such as https://portal.example.com)")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", errors.New("is not a valid URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("must be an absolute http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("must name a host")
	case u.User != nil:
		return "", errors.New("must not contain user information")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errors.New("must not contain a query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SendRequest is one invitation to create or send. Every field that
// appears in the email is refused if it contains line breaks or other
// control characters.
type SendRequest struct {
	// Customer is the host's customer ID. Required.
	Customer string
	// CustomerName is the customer's display name for the email.
	CustomerName string
	// Tenant is the customer's tenant (domain or ID) for the email.
	Tenant string
	// Recipient is one bare address (name@example.com) of the customer's
	// Global Admin or service account. Required by Send; optional for
	// Create.
	Recipient string
	// SentBy names the provider admin who sends it, as the email shows it
	// ("Alice Smith"). Required.
	SentBy string
}

func (r SendRequest) validate(recipientRequired bool) error {
	var fe fieldErrors
	fe.checkText("Customer", r.Customer, true)
	fe.checkText("CustomerName", r.CustomerName, false)
	fe.checkText("Tenant", r.Tenant, false)
	fe.checkAddress("Recipient", r.Recipient, recipientRequired)
	fe.checkText("SentBy", r.SentBy, true)
	return fe.err()
}

// prepared is a new invitation before it is stored.
type prepared struct {
	st   stored
	hash tokenHash
	link string
}

// prepare validates req, takes the send rate limits and builds the new
// invitation and its link.
func (s *Service) prepare(req SendRequest, recipientRequired bool) (prepared, error) {
	if err := req.validate(recipientRequired); err != nil {
		return prepared{}, err
	}
	now := s.now()
	reqs := []limitReq{{scope: ScopeCustomer, key: req.Customer, limit: s.limits.PerCustomer}}
	if req.Recipient != "" {
		reqs = append(reqs, limitReq{scope: ScopeRecipient, key: strings.ToLower(req.Recipient), limit: s.limits.PerRecipient})
	}
	if err := s.limiter.check(now, true, reqs...); err != nil {
		return prepared{}, err
	}
	token, h := newToken()
	return prepared{
		st: stored{
			Invitation: Invitation{
				ID:           s.ids.next(now),
				Customer:     req.Customer,
				CustomerName: req.CustomerName,
				Tenant:       req.Tenant,
				Recipient:    req.Recipient,
				SentBy:       req.SentBy,
				Status:       StatusPending,
				CreatedAt:    now.UTC(),
				ExpiresAt:    now.Add(s.ttl).UTC(),
			},
			TokenHash: h.String(),
		},
		hash: h,
		link: s.base + "/invite/" + token,
	}, nil
}

// Create makes a live invitation without sending any mail and returns its
// link, for an admin to pass on (the "Refresh Token Now" flow). The link
// is secret: show it to the admin once, do not log or store it. Earlier
// live invitations of the customer are revoked (superseded).
//
// Errors: *ValidationError, *RateLimitError, or a store error.
func (s *Service) Create(ctx context.Context, req SendRequest) (Invitation, string, error) {
	p, err := s.prepare(req, false)
	if err != nil {
		return Invitation{}, "", err
	}
	if err := s.insert(ctx, p.st, p.hash); err != nil {
		return Invitation{}, "", err
	}
	s.log.InfoContext(ctx, "invitation created", "customer", p.st.Customer, "invitation", p.st.ID, "expires", p.st.ExpiresAt)
	if err := s.supersede(ctx, p.st.Customer, p.st.ID); err != nil {
		return p.st.Invitation, p.link, err
	}
	return p.st.Invitation, p.link, nil
}

// Send creates an invitation and mails its link to req.Recipient. Once the
// mail is accepted, the customer's earlier live invitations are revoked
// (superseded): at most one link of a customer works at a time.
//
// Errors: *ValidationError and *RateLimitError (nothing stored or sent), a
// *DeliveryError when the mailer failed (the invitation is returned with
// StatusFailed and its link does not work), or a store error. If the mail
// was sent but a later store write failed, the returned Invitation has
// its ID set along with the error.
func (s *Service) Send(ctx context.Context, req SendRequest) (Invitation, error) {
	if s.mailer == nil {
		return Invitation{}, errors.New("invite: no Mailer configured: set Options.Mailer to send invitations")
	}
	p, err := s.prepare(req, true)
	if err != nil {
		return Invitation{}, err
	}
	msg, err := s.message(p)
	if err != nil {
		return Invitation{}, err
	}
	if err := s.insert(ctx, p.st, p.hash); err != nil {
		return Invitation{}, err
	}
	id, customer := p.st.ID, p.st.Customer
	if err := s.mailer.Send(ctx, msg); err != nil {
		s.log.WarnContext(ctx, "invitation mail failed; invitation marked failed", "customer", customer, "invitation", id, "error", err)
		failure := err.Error()
		if len(failure) > 500 {
			failure = failure[:500]
		}
		inv, uerr := s.update(context.WithoutCancel(ctx), customer, id, func(st *stored, now time.Time) (bool, error) {
			if st.Status != StatusPending {
				return false, nil
			}
			st.Status, st.FailedAt, st.Failure = StatusFailed, now.UTC(), failure
			return true, nil
		})
		derr := &DeliveryError{InvitationID: id, Err: err}
		if uerr != nil {
			// The record could not be marked: remove the index so that
			// the link certainly opens nothing.
			if xerr := s.store.Delete(context.WithoutCancel(ctx), indexKey(p.hash), tokenstore.AnyVersion); xerr != nil {
				s.log.ErrorContext(ctx, "failed invitation could not be disabled", "customer", customer, "invitation", id, "error", xerr)
			}
			return p.st.Invitation, errors.Join(derr, uerr)
		}
		return inv, derr
	}
	inv, err := s.update(ctx, customer, id, func(st *stored, now time.Time) (bool, error) {
		st.SentAt = now.UTC()
		return true, nil
	})
	if err != nil {
		return p.st.Invitation, fmt.Errorf("invite: invitation %s was sent but recording it failed: %w", id, err)
	}
	s.log.InfoContext(ctx, "invitation sent", "customer", customer, "invitation", id, "expires", inv.ExpiresAt)
	if err := s.supersede(ctx, customer, id); err != nil {
		return inv, err
	}
	return inv, nil
}

// message renders the email of a prepared invitation.
func (s *Service) message(p prepared) (*Message, error) {
	subject, text, html, err := s.templates.Render(EmailData{
		Branding:     s.branding,
		Inviter:      p.st.SentBy,
		CustomerName: p.st.CustomerName,
		Tenant:       p.st.Tenant,
		Recipient:    p.st.Recipient,
		Permissions:  s.permissions,
		Link:         p.link,
		ExpiresAt:    p.st.ExpiresAt,
		TTL:          s.ttl,
	})
	if err != nil {
		return nil, err
	}
	return &Message{
		To:       p.st.Recipient,
		ReplyTo:  s.branding.SupportEmail,
		Subject:  subject,
		Text:     text,
		HTML:     html,
		Language: s.branding.Language,
	}, nil
}

// supersede revokes every live invitation of customer older than id.
func (s *Service) supersede(ctx context.Context, customer, id string) error {
	all, err := s.list(ctx, customer)
	if err != nil {
		return fmt.Errorf("invite: invitation %s is live, but revoking the earlier ones failed: %w", id, err)
	}
	for _, old := range all {
		if old.ID >= id || !old.effective(s.now()).Status.Live() {
			continue
		}
		_, err := s.update(ctx, customer, old.ID, func(st *stored, now time.Time) (bool, error) {
			if !st.Status.Live() {
				return false, nil
			}
			st.Status, st.RevokedAt, st.SupersededBy = StatusRevoked, now.UTC(), id
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("invite: invitation %s is live, but revoking the earlier invitation %s failed: %w", id, old.ID, err)
		}
		s.log.InfoContext(ctx, "invitation superseded", "customer", customer, "invitation", old.ID, "supersededBy", id)
	}
	return nil
}

// Resend sends a new invitation to the recipient of invitation id, with
// the same customer name and tenant, and revokes the earlier live
// invitations of the customer (id among them). sentBy names the admin who
// resends. Errors as for Send, and ErrNotFound.
func (s *Service) Resend(ctx context.Context, customer, id, sentBy string) (Invitation, error) {
	old, _, err := s.load(ctx, customer, id)
	if err != nil {
		return Invitation{}, err
	}
	return s.Send(ctx, SendRequest{
		Customer:     customer,
		CustomerName: old.CustomerName,
		Tenant:       old.Tenant,
		Recipient:    old.Recipient,
		SentBy:       sentBy,
	})
}

// Revoke makes invitation id unusable at once. Revoking an invitation that
// is no longer live (revoked, expired, failed) changes nothing; a completed
// one returns ErrCompleted (its connection is managed elsewhere).
// revokedBy names the admin.
func (s *Service) Revoke(ctx context.Context, customer, id, revokedBy string) (Invitation, error) {
	var fe fieldErrors
	fe.checkText("revokedBy", revokedBy, true)
	if err := fe.err(); err != nil {
		return Invitation{}, err
	}
	inv, err := s.update(ctx, customer, id, func(st *stored, now time.Time) (bool, error) {
		if st.Status == StatusCompleted {
			return false, fmt.Errorf("%w: invitation %s cannot be revoked", ErrCompleted, id)
		}
		if !st.Status.Live() {
			return false, nil
		}
		st.Status, st.RevokedAt, st.RevokedBy = StatusRevoked, now.UTC(), revokedBy
		return true, nil
	})
	if err == nil && inv.Status == StatusRevoked && inv.RevokedBy == revokedBy {
		s.log.InfoContext(ctx, "invitation revoked", "customer", customer, "invitation", id)
	}
	return inv, err
}

// Get returns one invitation, or an error matching ErrNotFound.
func (s *Service) Get(ctx context.Context, customer, id string) (Invitation, error) {
	st, _, err := s.load(ctx, customer, id)
	if err != nil {
		return Invitation{}, err
	}
	return st.effective(s.now()), nil
}

// List returns every invitation of a customer, newest first.
func (s *Service) List(ctx context.Context, customer string) ([]Invitation, error) {
	all, err := s.list(ctx, customer)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Invitation, len(all))
	for i, st := range all {
		out[len(all)-1-i] = st.effective(now)
	}
	return out, nil
}

// Redeem looks up the invitation of a link's token for the customer-facing
// pages: the landing page and the start of the token connection. The first
// successful Redeem marks the invitation opened; it keeps working until the
// invitation is completed, revoked or expired.
//
// clientKey identifies the caller for the guess limit (use the client's IP
// address, or its /64 network for IPv6; every caller with the same key
// shares one budget). The token is looked up first: a link that belongs
// to an invitation is never refused by the limit and never counts against
// it, so nobody can lock a customer out by sending junk links from the
// customer's address (or from a proxy the customer shares). Unknown or
// malformed tokens count; past the limit such tokens from that client
// return *RateLimitError instead of ErrInvalidToken until the window
// passes.
//
// Errors: ErrInvalidToken (unknown or malformed), ErrExpired, ErrRevoked
// and ErrCompleted (in the last three the invitation is returned too, so
// the page can say who to ask for a new one), *RateLimitError, or a store
// error.
func (s *Service) Redeem(ctx context.Context, token, clientKey string) (Invitation, error) {
	st, err := s.lookup(ctx, token)
	if errors.Is(err, ErrInvalidToken) {
		guesses := limitReq{scope: ScopeRedeem, key: clientKey, limit: s.limits.RedeemFailures}
		if lerr := s.limiter.check(s.now(), true, guesses); lerr != nil {
			s.log.WarnContext(ctx, "invitation redeem refused by the guess limit")
			return Invitation{}, lerr
		}
		s.log.InfoContext(ctx, "invalid invitation link presented")
		return Invitation{}, err
	}
	if err != nil {
		return Invitation{}, err
	}
	inv := st.effective(s.now())
	if err := errForStatus(inv.Status); err != nil {
		return inv, err
	}
	if inv.Status == StatusOpened {
		return inv, nil
	}
	inv, err = s.update(ctx, st.Customer, st.ID, func(st *stored, now time.Time) (bool, error) {
		if err := errForStatus(st.Status); err != nil {
			return false, err
		}
		if st.Status == StatusOpened {
			return false, nil
		}
		st.Status, st.OpenedAt = StatusOpened, now.UTC()
		return true, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "invitation opened", "customer", inv.Customer, "invitation", inv.ID)
	}
	return inv, err
}

// Start is Redeem for the start of a sign-in from a link ("Sign in with
// Microsoft"): it also counts one start against the invitation's
// RateLimits.StartsPerInvitation and, past it, returns *RateLimitError
// (scope ScopeStart). Each start stores a pending sign-in, so the bound
// keeps one link holder from growing the database without limit.
func (s *Service) Start(ctx context.Context, token, clientKey string) (Invitation, error) {
	inv, err := s.Redeem(ctx, token, clientKey)
	if err != nil {
		return inv, err
	}
	starts := limitReq{scope: ScopeStart, key: inv.Customer + "\x00" + inv.ID, limit: s.limits.StartsPerInvitation}
	if err := s.limiter.check(s.now(), true, starts); err != nil {
		s.log.WarnContext(ctx, "sign-in start refused by the per-invitation limit", "customer", inv.Customer, "invitation", inv.ID)
		return inv, err
	}
	return inv, nil
}

// Live reports whether invitation id of customer can still connect: nil
// while it is pending or opened, else ErrExpired, ErrRevoked, ErrCompleted
// (or ErrNotFound). A sign-in started from an invitation checks it again
// when it completes, so revoking or expiring the invitation also cancels
// sign-ins already under way.
func (s *Service) Live(ctx context.Context, customer, id string) error {
	st, _, err := s.load(ctx, customer, id)
	if err != nil {
		return err
	}
	return errForStatus(st.effective(s.now()).Status)
}

// lookup finds the invitation of token through the index and checks the
// stored hash in constant time.
func (s *Service) lookup(ctx context.Context, token string) (stored, error) {
	h, err := parseToken(token)
	if err != nil {
		return stored{}, err
	}
	rec, err := s.store.Get(ctx, indexKey(h))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return stored{}, ErrInvalidToken
	}
	if err != nil {
		return stored{}, fmt.Errorf("invite: read token index: %w", err)
	}
	var idx indexEntry
	if err := json.Unmarshal(rec.Data, &idx); err != nil {
		return stored{}, fmt.Errorf("invite: decode token index: %w", err)
	}
	st, _, err := s.load(ctx, idx.Customer, idx.ID)
	if errors.Is(err, ErrNotFound) {
		return stored{}, ErrInvalidToken
	}
	if err != nil {
		return stored{}, err
	}
	want := h.String()
	if subtle.ConstantTimeCompare([]byte(st.TokenHash), []byte(want)) != 1 {
		return stored{}, ErrInvalidToken
	}
	return st, nil
}

// Complete marks invitation id completed once the token connection it
// started is established. It succeeds once: afterwards the link opens
// nothing and a second Complete returns ErrCompleted. An invitation that
// expired or was revoked in the meantime returns ErrExpired or ErrRevoked.
func (s *Service) Complete(ctx context.Context, customer, id string) (Invitation, error) {
	inv, err := s.update(ctx, customer, id, func(st *stored, now time.Time) (bool, error) {
		if err := errForStatus(st.Status); err != nil {
			return false, err
		}
		st.Status, st.CompletedAt = StatusCompleted, now.UTC()
		return true, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "invitation completed", "customer", customer, "invitation", id)
	}
	return inv, err
}

// Purge deletes the invitations of a customer that are no longer live
// (completed, expired, revoked, failed) and were created before before,
// with their token index records, and returns how many it deleted. Live
// invitations are kept: Revoke them first. Call it periodically to bound
// what is kept, or with a time in the future when a customer leaves.
func (s *Service) Purge(ctx context.Context, customer string, before time.Time) (int, error) {
	all, err := s.list(ctx, customer)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.now()
	for _, st := range all {
		if st.effective(now).Status.Live() || !st.CreatedAt.Before(before) {
			continue
		}
		// The index first: an invitation without index is unreachable by
		// link, an index without invitation reads as an unknown link.
		idx := tokenstore.Key{Customer: indexCustomer, Kind: kindTokenIndex, Name: st.TokenHash}
		if err := s.store.Delete(ctx, idx, tokenstore.AnyVersion); err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			return n, fmt.Errorf("invite: purge token index of %s: %w", st.ID, err)
		}
		if err := s.store.Delete(ctx, invitationKey(customer, st.ID), tokenstore.AnyVersion); err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			return n, fmt.Errorf("invite: purge invitation %s: %w", st.ID, err)
		}
		n++
	}
	if n > 0 {
		s.log.InfoContext(ctx, "invitations purged", "customer", customer, "count", n)
	}
	return n, nil
}
