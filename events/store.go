package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"strconv"
	"time"

	"github.com/tenantgate/tenantgate/internal/cursor"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
)

// Dialect is the SQL dialect of the database a Bus records events in.
type Dialect = sqldb.Dialect

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"), opened with
	// _txlock=immediate and a busy_timeout, as the tokenstore's is.
	SQLite = sqldb.SQLite
	// Postgres through github.com/jackc/pgx/v5/stdlib (driver "pgx").
	Postgres = sqldb.Postgres
)

// migrations are the schema steps of the event log and delivery log.
// Append new steps, never edit shipped ones.
var migrations = [][]string{
	{
		`CREATE TABLE tenantgate_events (
			id         TEXT   NOT NULL PRIMARY KEY,
			customer   TEXT   NOT NULL,
			dedupe_key TEXT   NOT NULL,
			type       TEXT   NOT NULL,
			at         BIGINT NOT NULL, -- Unix microseconds
			payload    TEXT   NOT NULL,
			UNIQUE (customer, dedupe_key)
		)`,
		`CREATE INDEX tenantgate_events_customer_at ON tenantgate_events (customer, at)`,
		`CREATE INDEX tenantgate_events_at ON tenantgate_events (at)`,
		`CREATE TABLE tenantgate_webhook_deliveries (
			event_id    TEXT    NOT NULL,
			endpoint    TEXT    NOT NULL,
			customer    TEXT    NOT NULL,
			type        TEXT    NOT NULL,
			state       TEXT    NOT NULL,
			attempts    INTEGER NOT NULL DEFAULT 0,
			last_status INTEGER NOT NULL DEFAULT 0,
			last_error  TEXT    NOT NULL DEFAULT '',
			created_at  BIGINT  NOT NULL, -- Unix microseconds
			updated_at  BIGINT  NOT NULL,
			PRIMARY KEY (event_id, endpoint)
		)`,
		`CREATE INDEX tenantgate_webhook_deliveries_customer ON tenantgate_webhook_deliveries (customer, created_at)`,
		`CREATE INDEX tenantgate_webhook_deliveries_state ON tenantgate_webhook_deliveries (state, created_at)`,
	},
	{
		// Replay counts a delivery's replays (Bus.Replay); each replay is
		// a new job.
		`ALTER TABLE tenantgate_webhook_deliveries ADD COLUMN replays INTEGER NOT NULL DEFAULT 0`,
	},
	// 3: the fence (internal/fence): a customer erased by offboarding
	// (Bus.Offboard) is recorded in the same transaction, and triggers
	// refuse every later event or delivery row of it but
	// customer.offboarded's (kept on purpose, and delivered), so an event
	// emitted by a job racing the erase leaves nothing behind.
	fence.StepsExcept("", "tenantgate_events_erased", "NEW.type = 'customer.offboarded'",
		"tenantgate_events", "tenantgate_webhook_deliveries"),
}

// Migrations is the package's schema history, for migrate.Up (the
// portal's migrate command applies it with every other package's).
func Migrations() migrate.Line {
	return migrate.Line{Name: "events", Steps: migrations, Legacy: "tenantgate_events_migrations"}
}

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

// The delivery states.
const (
	// DeliveryPending: recorded, its job not yet enqueued (no job runner
	// yet, or enqueuing failed); Bus.Flush enqueues it.
	DeliveryPending DeliveryState = "pending"
	// DeliveryQueued: its job waits for its first attempt.
	DeliveryQueued DeliveryState = "queued"
	// DeliveryRetrying: an attempt failed; another is scheduled.
	DeliveryRetrying DeliveryState = "retrying"
	// DeliveryDelivered: the endpoint answered 2xx.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryFailed: every attempt failed, or the endpoint is gone.
	DeliveryFailed DeliveryState = "failed"
)

// Delivery is one event's delivery to one endpoint, as the delivery log
// records it.
type Delivery struct {
	EventID  string        `json:"eventId"`
	Endpoint string        `json:"endpoint"`
	Customer string        `json:"customer"`
	Type     Type          `json:"type"`
	State    DeliveryState `json:"state"`
	Attempts int           `json:"attempts"`
	// LastStatus is the HTTP status of the last attempt (0: none, or no
	// response).
	LastStatus int `json:"lastStatus,omitempty"`
	// LastError says why the last attempt failed (never a URL or secret).
	LastError string `json:"lastError,omitempty"`
	// Replays counts the times a person had it sent again (Bus.Replay).
	Replays int `json:"replays"`
	// CreatedAt is when the event was recorded for the endpoint,
	// UpdatedAt when its state last changed.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Query selects events or deliveries, newest first.
type Query struct {
	// Customer limits to one customer; "" means every customer.
	Customer string
	// Type limits to one event type.
	Type Type
	// State limits deliveries to one state (ignored for events).
	State DeliveryState
	// From and To limit to events that happened (deliveries that were
	// recorded) at or after From and before To; zero means unbounded.
	From, To time.Time
	// Limit is the page size: 1 to 500, default 50.
	Limit int
	// After is the Next of the previous page of the same query; "" starts
	// at the newest. A cursor of another query or listing, or an edited
	// one, is refused with ErrBadCursor.
	After string
}

// ErrBadCursor is returned for a Query.After that the listing did not
// issue for the same query.
var ErrBadCursor = errors.New("events: the page cursor is not valid")

// EventPage is a page of events, newest first.
type EventPage struct {
	Events []Event `json:"events"`
	// Next continues the listing as Query.After; "" on the last page.
	Next string `json:"next"`
}

// DeliveryPage is a page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	// Next continues the listing as Query.After; "" on the last page.
	Next string `json:"next"`
}

// scope binds a cursor to the query's filters.
func (q Query) scope(deliveries bool) string {
	state := ""
	if deliveries {
		state = string(q.State)
	}
	return cursor.Scope(q.Customer, string(q.Type), state, timeKey(q.From), timeKey(q.To))
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// where appends the query's filters on columns customer, type and at
// (the time column's name) to query.
func (q Query) where(query string, args []any, at string, deliveries bool) (string, []any) {
	query += ` WHERE 1 = 1`
	if q.Customer != "" {
		query += ` AND customer = ?`
		args = append(args, q.Customer)
	}
	if q.Type != "" {
		query += ` AND type = ?`
		args = append(args, string(q.Type))
	}
	if deliveries && q.State != "" {
		query += ` AND state = ?`
		args = append(args, string(q.State))
	}
	if !q.From.IsZero() {
		query += ` AND ` + at + ` >= ?`
		args = append(args, q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		query += ` AND ` + at + ` < ?`
		args = append(args, q.To.UnixMicro())
	}
	return query, args
}

func (q Query) limit() int {
	if q.Limit <= 0 {
		return 50
	}
	return min(q.Limit, 500)
}

type store struct {
	db *sql.DB
	d  Dialect
}

// insertEvent records e, reporting false when its key was already taken.
func (s *store) insertEvent(ctx context.Context, e Event, body []byte, endpoints []string) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO tenantgate_events (id, customer, dedupe_key, type, at, payload)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (customer, dedupe_key) DO NOTHING`),
		e.ID, e.Data.Customer, e.Key, string(e.Type), e.Time.UnixMicro(), string(body))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	now := time.Now().UnixMicro()
	for _, ep := range endpoints {
		if _, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO tenantgate_webhook_deliveries
			(event_id, endpoint, customer, type, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			e.ID, ep, e.Data.Customer, string(e.Type), string(DeliveryPending), now, now); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// setDelivery records the outcome of an enqueue or an attempt. A
// delivered or failed delivery is final and stays so.
func (s *store) setDelivery(ctx context.Context, eventID, endpoint string, state DeliveryState, attempts, status int, msg string) error {
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE tenantgate_webhook_deliveries
		SET state = ?, attempts = CASE WHEN ? > attempts THEN ? ELSE attempts END, last_status = ?, last_error = ?, updated_at = ?
		WHERE event_id = ? AND endpoint = ? AND state NOT IN ('delivered', 'failed')`),
		string(state), attempts, attempts, status, msg, time.Now().UnixMicro(), eventID, endpoint)
	return err
}

// pending returns up to limit deliveries not yet enqueued, oldest first,
// with their events' bodies.
func (s *store) pending(ctx context.Context, limit int) ([]pendingDelivery, error) {
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`SELECT d.event_id, d.endpoint, e.customer, e.type, e.payload, d.replays
		FROM tenantgate_webhook_deliveries d JOIN tenantgate_events e ON e.id = d.event_id
		WHERE d.state = 'pending' ORDER BY d.created_at LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingDelivery
	for rows.Next() {
		var p pendingDelivery
		if err := rows.Scan(&p.EventID, &p.Endpoint, &p.Customer, &p.Type, &p.Body, &p.Replay); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

type pendingDelivery struct {
	EventID, Endpoint, Customer, Type, Body string
	// Replay is the delivery's replay count (0: the first send).
	Replay int
}

func (s *store) events(ctx context.Context, q Query) (EventPage, error) {
	scope := q.scope(false)
	query, args := q.where(`SELECT id, at, payload FROM tenantgate_events`, nil, "at", false)
	if q.After != "" {
		p, err := cursor.Decode(q.After, "events", scope, 2)
		if err != nil {
			return EventPage{}, ErrBadCursor
		}
		at, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return EventPage{}, ErrBadCursor
		}
		query += ` AND (at < ? OR (at = ? AND id < ?))`
		args = append(args, at, at, p[1])
	}
	limit := q.limit()
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return EventPage{}, err
	}
	defer rows.Close()
	page := EventPage{Events: []Event{}}
	var lastAt int64
	for rows.Next() {
		var id, body string
		var at int64
		if err := rows.Scan(&id, &at, &body); err != nil {
			return EventPage{}, err
		}
		if len(page.Events) == limit {
			page.Next = cursor.Encode("events", scope, strconv.FormatInt(lastAt, 10), page.Events[limit-1].ID)
			break
		}
		var p payload
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return EventPage{}, fmt.Errorf("event %s is corrupt: %w", id, err)
		}
		page.Events = append(page.Events, Event{ID: id, Type: p.Type, Time: p.Timestamp, Data: p.Data})
		lastAt = at
	}
	return page, rows.Err()
}

func (s *store) deliveries(ctx context.Context, q Query) (DeliveryPage, error) {
	scope := q.scope(true)
	query, args := q.where(`SELECT event_id, endpoint, customer, type, state, attempts, last_status, last_error, replays, created_at, updated_at
		FROM tenantgate_webhook_deliveries`, nil, "created_at", true)
	if q.After != "" {
		p, err := cursor.Decode(q.After, "deliveries", scope, 3)
		if err != nil {
			return DeliveryPage{}, ErrBadCursor
		}
		at, err := strconv.ParseInt(p[0], 10, 64)
		if err != nil {
			return DeliveryPage{}, ErrBadCursor
		}
		query += ` AND (created_at < ? OR (created_at = ? AND (event_id < ? OR (event_id = ? AND endpoint < ?))))`
		args = append(args, at, at, p[1], p[1], p[2])
	}
	limit := q.limit()
	query += ` ORDER BY created_at DESC, event_id DESC, endpoint DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return DeliveryPage{}, err
	}
	defer rows.Close()
	page := DeliveryPage{Deliveries: []Delivery{}}
	var lastCreated int64
	for rows.Next() {
		d, created, err := scanDelivery(rows)
		if err != nil {
			return DeliveryPage{}, err
		}
		if len(page.Deliveries) == limit {
			last := page.Deliveries[limit-1]
			page.Next = cursor.Encode("deliveries", scope, strconv.FormatInt(lastCreated, 10), last.EventID, last.Endpoint)
			break
		}
		page.Deliveries = append(page.Deliveries, d)
		lastCreated = created
	}
	return page, rows.Err()
}

// scanDelivery reads a row of the deliveries columns the listing selects,
// returning its created_at as stored.
func scanDelivery(row interface{ Scan(...any) error }) (Delivery, int64, error) {
	var d Delivery
	var created, updated int64
	if err := row.Scan(&d.EventID, &d.Endpoint, &d.Customer, &d.Type, &d.State, &d.Attempts, &d.LastStatus, &d.LastError, &d.Replays, &created, &updated); err != nil {
		return Delivery{}, 0, err
	}
	d.CreatedAt, d.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return d, created, nil
}

// delivery reads one delivery.
func (s *store) delivery(ctx context.Context, eventID, endpoint string) (Delivery, error) {
	d, _, err := scanDelivery(s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT event_id, endpoint, customer, type, state, attempts, last_status, last_error, replays, created_at, updated_at
		FROM tenantgate_webhook_deliveries WHERE event_id = ? AND endpoint = ?`), eventID, endpoint))
	return d, err
}

// replay moves a failed delivery back to pending, counting the replay;
// false when it is not failed (any more).
func (s *store) replay(ctx context.Context, eventID, endpoint string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE tenantgate_webhook_deliveries
		SET state = 'pending', attempts = 0, replays = replays + 1, updated_at = ?
		WHERE event_id = ? AND endpoint = ? AND state = 'failed'`), time.Now().UnixMicro(), eventID, endpoint)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// pendingOne returns one pending delivery with its event's body.
func (s *store) pendingOne(ctx context.Context, eventID, endpoint string) (pendingDelivery, int, error) {
	var p pendingDelivery
	var replays int
	err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT d.event_id, d.endpoint, e.customer, e.type, e.payload, d.replays
		FROM tenantgate_webhook_deliveries d JOIN tenantgate_events e ON e.id = d.event_id
		WHERE d.event_id = ? AND d.endpoint = ?`), eventID, endpoint).Scan(&p.EventID, &p.Endpoint, &p.Customer, &p.Type, &p.Body, &replays)
	return p, replays, err
}

var errNoDB = errors.New("events: Options.DB is required")
