package qoe

import (
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
)

// migrations are the schema steps, applied in order; migration i brings
// the schema to version i+1. Append new steps, never edit shipped ones.
// Both dialects run the same text. Times are Unix nanoseconds, days
// YYYY-MM-DD in UTC.
var migrations = [][]string{
	// 1: subscriptions, calls, streams, daily aggregates, PSTN aggregates.
	{
		`CREATE TABLE tenantgate_qoe_subscriptions (
			customer          TEXT   NOT NULL PRIMARY KEY,
			subscription_id   TEXT   NOT NULL,  -- '' until created
			client_state_hash TEXT   NOT NULL,  -- hex SHA-256 of the clientState
			app_id            TEXT   NOT NULL,
			state             TEXT   NOT NULL,  -- active, failed, removed
			expires_at        BIGINT NOT NULL,
			last_error        TEXT   NOT NULL,
			last_seen_start   BIGINT NOT NULL,  -- newest call start processed
			created_at        BIGINT NOT NULL,
			renewed_at        BIGINT NOT NULL,
			rejected          BIGINT NOT NULL   -- notifications with a wrong clientState
		)`,
		`CREATE INDEX tenantgate_qoe_subscriptions_by_id ON tenantgate_qoe_subscriptions (subscription_id)`,
		`CREATE TABLE tenantgate_qoe_calls (
			customer     TEXT   NOT NULL,
			id           TEXT   NOT NULL,
			version      BIGINT NOT NULL,
			day          TEXT   NOT NULL,
			start_at     BIGINT NOT NULL,
			end_at       BIGINT NOT NULL,
			quality      TEXT   NOT NULL,
			jitter       INTEGER NOT NULL, -- 1 when a poor reason
			packet_loss  INTEGER NOT NULL,
			round_trip   INTEGER NOT NULL,
			caller       TEXT   NOT NULL,
			callee       TEXT   NOT NULL,
			processed_at BIGINT NOT NULL,
			PRIMARY KEY (customer, id)
		)`,
		`CREATE INDEX tenantgate_qoe_calls_by_start ON tenantgate_qoe_calls (customer, start_at, id)`,
		`CREATE INDEX tenantgate_qoe_calls_by_day ON tenantgate_qoe_calls (customer, day)`,
		`CREATE TABLE tenantgate_qoe_streams (
			customer    TEXT   NOT NULL,
			call_id     TEXT   NOT NULL,
			stream_key  TEXT   NOT NULL,
			direction   TEXT   NOT NULL,
			jitter_us   BIGINT,
			round_trip_us BIGINT,
			packet_loss DOUBLE PRECISION,
			packets     BIGINT,
			quality     TEXT   NOT NULL,
			reasons     TEXT   NOT NULL, -- comma-separated
			PRIMARY KEY (customer, call_id, stream_key)
		)`,
		`CREATE TABLE tenantgate_qoe_daily (
			customer     TEXT   NOT NULL,
			day          TEXT   NOT NULL,
			calls        BIGINT NOT NULL,
			poor         BIGINT NOT NULL,
			unclassified BIGINT NOT NULL,
			jitter       BIGINT NOT NULL,
			packet_loss  BIGINT NOT NULL,
			round_trip   BIGINT NOT NULL,
			PRIMARY KEY (customer, day)
		)`,
		`CREATE TABLE tenantgate_qoe_pstn (
			customer  TEXT   NOT NULL,
			day       TEXT   NOT NULL,
			kind      TEXT   NOT NULL, -- directRouting, callingPlan
			fqdn      TEXT   NOT NULL, -- the SBC; '' for Calling Plan
			attempts  BIGINT NOT NULL,
			successes BIGINT NOT NULL,
			seconds   BIGINT NOT NULL,
			sip_codes TEXT   NOT NULL, -- JSON object: final SIP code -> count
			pulled_at BIGINT NOT NULL,
			PRIMARY KEY (customer, day, kind, fqdn)
		)`,
	},
	// 2: the fence (internal/fence): a customer erased by offboarding is
	// recorded in the transaction that erases it, and triggers refuse
	// every later insert or update of its rows, so a call fetch or a
	// renewal that raced the erase leaves nothing behind.
	fence.Steps("", "tenantgate_qoe_erased", "tenantgate_qoe_subscriptions", "tenantgate_qoe_calls",
		"tenantgate_qoe_streams", "tenantgate_qoe_daily", "tenantgate_qoe_pstn"),
}

// SchemaVersion is the schema version this package migrates a database to.
const SchemaVersion = 2

// Migrations is the package's schema history, for migrate.Up (the
// portal's migrate command applies it with every other package's).
func Migrations() migrate.Line {
	return migrate.Line{Name: "qoe", Steps: migrations, Legacy: "tenantgate_qoe_migrations"}
}
