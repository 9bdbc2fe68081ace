package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/migrate"
	"time"

	"github.com/tenantgate/tenantgate/internal/sqldb"
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
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// Query selects events or deliveries, newest first.
type Query struct {
	// Customer limits to one customer; "" means every customer.
	Customer string
	// Limit is the page size: 1 to 500, default 50.
	Limit int
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
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`SELECT d.event_id, d.endpoint, e.customer, e.type, e.payload
		FROM tenantgate_webhook_deliveries d JOIN tenantgate_events e ON e.id = d.event_id
		WHERE d.state = 'pending' ORDER BY d.created_at LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingDelivery
	for rows.Next() {
		var p pendingDelivery
		if err := rows.Scan(&p.EventID, &p.Endpoint, &p.Customer, &p.Type, &p.Body); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

type pendingDelivery struct {
	EventID, Endpoint, Customer, Type, Body string
}

func (s *store) events(ctx context.Context, q Query) ([]Event, error) {
	query := `SELECT id, payload FROM tenantgate_events`
	args := []any{}
	if q.Customer != "" {
		query += ` WHERE customer = ?`
		args = append(args, q.Customer)
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, q.limit())
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, err
		}
		var p payload
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return nil, fmt.Errorf("event %s is corrupt: %w", id, err)
		}
		out = append(out, Event{ID: id, Type: p.Type, Time: p.Timestamp, Data: p.Data})
	}
	return out, rows.Err()
}

func (s *store) deliveries(ctx context.Context, q Query) ([]Delivery, error) {
	query := `SELECT event_id, endpoint, customer, type, state, attempts, last_status, last_error, created_at, updated_at
		FROM tenantgate_webhook_deliveries`
	args := []any{}
	if q.Customer != "" {
		query += ` WHERE customer = ?`
		args = append(args, q.Customer)
	}
	query += ` ORDER BY created_at DESC, event_id DESC LIMIT ?`
	args = append(args, q.limit())
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var created, updated int64
		if err := rows.Scan(&d.EventID, &d.Endpoint, &d.Customer, &d.Type, &d.State, &d.Attempts, &d.LastStatus, &d.LastError, &created, &updated); err != nil {
			return nil, err
		}
		d.Created, d.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

var errNoDB = errors.New("events: Options.DB is required")
