package voice

import (
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
)

// migrations are the schema steps, applied in order; migration i brings
// the schema to version i+1. Append new steps, never edit shipped ones.
// Both dialects run the same text. Times are Unix nanoseconds.
var migrations = [][]string{
	// 1: the inventory, the ranges, holds (reservations and quarantine),
	// operations.
	{
		`CREATE TABLE tenantgate_voice_numbers (
			customer          TEXT   NOT NULL,
			number            TEXT   NOT NULL,  -- E.164 with +
			id                TEXT   NOT NULL,  -- Graph's numberAssignment id
			number_type       TEXT   NOT NULL,
			activation_state  TEXT   NOT NULL,
			assignment_status TEXT   NOT NULL,
			target_id         TEXT   NOT NULL,
			target_upn        TEXT   NOT NULL,  -- when voice learnt it
			capabilities      TEXT   NOT NULL,  -- comma-separated
			category          TEXT   NOT NULL,
			location_id       TEXT   NOT NULL,
			country           TEXT   NOT NULL,
			city              TEXT   NOT NULL,
			refreshed_at      BIGINT NOT NULL,
			PRIMARY KEY (customer, number)
		)`,
		`CREATE INDEX tenantgate_voice_numbers_free ON tenantgate_voice_numbers (customer, assignment_status, number)`,
		`CREATE INDEX tenantgate_voice_numbers_target ON tenantgate_voice_numbers (customer, target_id)`,
		`CREATE TABLE tenantgate_voice_ranges (
			customer        TEXT    NOT NULL,
			name            TEXT    NOT NULL,
			first_number    TEXT    NOT NULL,
			last_number     TEXT    NOT NULL,
			number_type     TEXT    NOT NULL,
			location_id     TEXT    NOT NULL,
			quarantine_days INTEGER NOT NULL,
			PRIMARY KEY (customer, name)
		)`,
		// One row per held number: the primary key is what keeps one
		// number from being handed to two users by two replicas.
		`CREATE TABLE tenantgate_voice_holds (
			customer   TEXT   NOT NULL,
			number     TEXT   NOT NULL,
			kind       TEXT   NOT NULL,  -- reserved, quarantine
			holder     TEXT   NOT NULL,  -- the operation (reserved) or the released user
			until      BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			PRIMARY KEY (customer, number)
		)`,
		`CREATE TABLE tenantgate_voice_operations (
			id          TEXT   NOT NULL PRIMARY KEY,
			customer    TEXT   NOT NULL,
			kind        TEXT   NOT NULL,  -- set, release
			user_id     TEXT   NOT NULL,  -- the Entra object ID
			state       TEXT   NOT NULL,
			actor       TEXT   NOT NULL,
			plan        TEXT   NOT NULL,  -- JSON: what the job does
			items       TEXT   NOT NULL,  -- JSON: per user, each step's status
			created_at  BIGINT NOT NULL,
			updated_at  BIGINT NOT NULL,
			finished_at BIGINT NOT NULL
		)`,
		`CREATE INDEX tenantgate_voice_operations_by_customer ON tenantgate_voice_operations (customer, created_at)`,
		// Two operations never run on one user at once, whichever replica
		// starts them.
		`CREATE UNIQUE INDEX tenantgate_voice_operations_one_per_user ON tenantgate_voice_operations (customer, user_id) WHERE state IN ('queued', 'running')`,
	},
	// 2: voice profiles, plans (their items apart, so a 50,000-user plan
	// is never one value), and the per-user items of an apply.
	{
		`CREATE TABLE tenantgate_voice_profiles (
			customer   TEXT   NOT NULL,
			name       TEXT   NOT NULL,
			body       TEXT   NOT NULL,  -- JSON: the Profile
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (customer, name)
		)`,
		`CREATE TABLE tenantgate_voice_plans (
			id         TEXT   NOT NULL PRIMARY KEY,
			customer   TEXT   NOT NULL,
			body       TEXT   NOT NULL,  -- JSON: the Plan without its items, and what it was made from
			read_at    BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			operation  TEXT   NOT NULL,  -- the apply's operation, once applied ('' before)
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX tenantgate_voice_plans_by_customer ON tenantgate_voice_plans (customer, created_at)`,
		`CREATE TABLE tenantgate_voice_plan_items (
			plan_id TEXT    NOT NULL,
			idx     INTEGER NOT NULL,
			status  TEXT    NOT NULL,  -- change, unchanged, error
			body    TEXT    NOT NULL,  -- JSON: the PlanItem
			PRIMARY KEY (plan_id, idx)
		)`,
		// One row per user of an apply: the primary key keeps a user from
		// being worked twice by one apply, whichever replica runs it.
		`CREATE TABLE tenantgate_voice_apply_items (
			operation  TEXT    NOT NULL,
			user_id    TEXT    NOT NULL,
			customer   TEXT    NOT NULL,
			idx        INTEGER NOT NULL,
			lane       INTEGER NOT NULL,
			state      TEXT    NOT NULL,
			body       TEXT    NOT NULL,  -- JSON: the Item and its per-user plan
			updated_at BIGINT  NOT NULL,
			PRIMARY KEY (operation, user_id)
		)`,
		`CREATE INDEX tenantgate_voice_apply_items_lane ON tenantgate_voice_apply_items (operation, lane, state)`,
		`CREATE INDEX tenantgate_voice_apply_items_idx ON tenantgate_voice_apply_items (operation, idx)`,
	},
	// 3: each range's last seen level (ok, low, exhausted), so a range
	// running low is reported once per crossing, by one replica.
	{
		`CREATE TABLE tenantgate_voice_range_levels (
			customer   TEXT    NOT NULL,
			name       TEXT    NOT NULL,
			level      TEXT    NOT NULL,  -- ok, low, exhausted
			crossings  INTEGER NOT NULL,  -- how many times the level changed
			updated_at BIGINT  NOT NULL,
			PRIMARY KEY (customer, name)
		)`,
	},
	// 4: each customer's voice at a glance for the fleet view: its users
	// (after each sync) and its ranges' free numbers (after each check).
	{
		`CREATE TABLE tenantgate_voice_summaries (
			customer  TEXT   NOT NULL PRIMARY KEY,
			users     TEXT   NOT NULL,  -- JSON: voice users, ready, not ready by first failed check ('' before the first)
			users_at  BIGINT NOT NULL,
			ranges    TEXT   NOT NULL,  -- JSON: each range's free numbers and level ('' before the first)
			ranges_at BIGINT NOT NULL
		)`,
	},
	// 5: the fence (internal/fence): a customer erased by offboarding is
	// recorded in the transaction that erases it, and triggers refuse
	// every later insert or update of its rows, so an operation, refresh
	// or apply racing the erase leaves nothing behind. (Plan items carry
	// no customer: they are written with their plan, which is fenced.)
	fence.Steps("", "tenantgate_voice_erased", "tenantgate_voice_numbers", "tenantgate_voice_ranges",
		"tenantgate_voice_holds", "tenantgate_voice_operations", "tenantgate_voice_profiles", "tenantgate_voice_plans",
		"tenantgate_voice_apply_items", "tenantgate_voice_range_levels", "tenantgate_voice_summaries"),
}

// Migrations is the package's schema history, for migrate.Up (the
// portal's migrate command applies it with every other package's).
func Migrations() migrate.Line {
	return migrate.Line{Name: "voice", Steps: migrations, Legacy: "tenantgate_voice_migrations"}
}
