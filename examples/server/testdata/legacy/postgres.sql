-- pg_dump --inserts of a schema made by main at 1b3bde0 (each package with its own
-- version table), __SCHEMA__ standing for the schema; see migrate_test.go.


CREATE TYPE __SCHEMA__.river_job_state AS ENUM (
    'available',
    'cancelled',
    'completed',
    'discarded',
    'pending',
    'retryable',
    'running',
    'scheduled'
);

CREATE FUNCTION __SCHEMA__.river_job_state_in_bitmask(bitmask bit, state __SCHEMA__.river_job_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE state
        WHEN 'available' THEN get_bit(bitmask, 7)
        WHEN 'cancelled' THEN get_bit(bitmask, 6)
        WHEN 'completed' THEN get_bit(bitmask, 5)
        WHEN 'discarded' THEN get_bit(bitmask, 4)
        WHEN 'pending'   THEN get_bit(bitmask, 3)
        WHEN 'retryable' THEN get_bit(bitmask, 2)
        WHEN 'running'   THEN get_bit(bitmask, 1)
        WHEN 'scheduled' THEN get_bit(bitmask, 0)
        ELSE 0
    END = 1;
$$;

CREATE FUNCTION __SCHEMA__.tenantgate_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
			BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;

CREATE TABLE __SCHEMA__.river_job (
    id bigint NOT NULL,
    state __SCHEMA__.river_job_state DEFAULT 'available'::__SCHEMA__.river_job_state NOT NULL,
    attempt smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    attempted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finalized_at timestamp with time zone,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    priority smallint DEFAULT 1 NOT NULL,
    args jsonb NOT NULL,
    attempted_by text[],
    errors jsonb[],
    kind text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    tags character varying(255)[] DEFAULT '{}'::character varying[] NOT NULL,
    unique_key bytea,
    unique_states bit(8),
    CONSTRAINT finalized_or_finalized_at_null CHECK ((((finalized_at IS NULL) AND (state <> ALL (ARRAY['cancelled'::__SCHEMA__.river_job_state, 'completed'::__SCHEMA__.river_job_state, 'discarded'::__SCHEMA__.river_job_state]))) OR ((finalized_at IS NOT NULL) AND (state = ANY (ARRAY['cancelled'::__SCHEMA__.river_job_state, 'completed'::__SCHEMA__.river_job_state, 'discarded'::__SCHEMA__.river_job_state]))))),
    CONSTRAINT kind_length CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128))),
    CONSTRAINT max_attempts_is_positive CHECK ((max_attempts > 0)),
    CONSTRAINT priority_in_range CHECK (((priority >= 1) AND (priority <= 4))),
    CONSTRAINT queue_length CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))
);

CREATE SEQUENCE __SCHEMA__.river_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE __SCHEMA__.river_job_id_seq OWNED BY __SCHEMA__.river_job.id;

CREATE UNLOGGED TABLE __SCHEMA__.river_leader (
    elected_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    leader_id text NOT NULL,
    name text DEFAULT 'default'::text NOT NULL,
    CONSTRAINT leader_id_length CHECK (((char_length(leader_id) > 0) AND (char_length(leader_id) < 128))),
    CONSTRAINT name_length CHECK ((name = 'default'::text))
);

CREATE TABLE __SCHEMA__.river_migration (
    line text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT line_length CHECK (((char_length(line) > 0) AND (char_length(line) < 128))),
    CONSTRAINT version_gte_1 CHECK ((version >= 1))
);

CREATE TABLE __SCHEMA__.river_notification (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    payload text NOT NULL,
    topic text NOT NULL,
    CONSTRAINT topic_length CHECK (((length(topic) > 0) AND (length(topic) < 128)))
);

CREATE SEQUENCE __SCHEMA__.river_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE __SCHEMA__.river_notification_id_seq OWNED BY __SCHEMA__.river_notification.id;

CREATE TABLE __SCHEMA__.river_queue (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    paused_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_audit (
    id bigint NOT NULL,
    at bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    customer text NOT NULL,
    outcome text NOT NULL,
    request_id text NOT NULL,
    detail text NOT NULL,
    prev_hash text DEFAULT ''::text NOT NULL,
    hash text DEFAULT ''::text NOT NULL
);

ALTER TABLE __SCHEMA__.tenantgate_audit ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME __SCHEMA__.tenantgate_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE __SCHEMA__.tenantgate_audit_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_credential_use (
    customer text NOT NULL,
    hour bigint NOT NULL,
    uses bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_events (
    id text NOT NULL,
    customer text NOT NULL,
    dedupe_key text NOT NULL,
    type text NOT NULL,
    at bigint NOT NULL,
    payload text NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_events_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_fleet_replicas (
    id text NOT NULL,
    seen_at timestamp with time zone NOT NULL,
    busy boolean DEFAULT true NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_fleet_replicas_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_calls (
    customer text NOT NULL,
    id text NOT NULL,
    version bigint NOT NULL,
    day text NOT NULL,
    start_at bigint NOT NULL,
    end_at bigint NOT NULL,
    quality text NOT NULL,
    jitter integer NOT NULL,
    packet_loss integer NOT NULL,
    round_trip integer NOT NULL,
    caller text NOT NULL,
    callee text NOT NULL,
    processed_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_daily (
    customer text NOT NULL,
    day text NOT NULL,
    calls bigint NOT NULL,
    poor bigint NOT NULL,
    unclassified bigint NOT NULL,
    jitter bigint NOT NULL,
    packet_loss bigint NOT NULL,
    round_trip bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_pstn (
    customer text NOT NULL,
    day text NOT NULL,
    kind text NOT NULL,
    fqdn text NOT NULL,
    attempts bigint NOT NULL,
    successes bigint NOT NULL,
    seconds bigint NOT NULL,
    sip_codes text NOT NULL,
    pulled_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_streams (
    customer text NOT NULL,
    call_id text NOT NULL,
    stream_key text NOT NULL,
    direction text NOT NULL,
    jitter_us bigint,
    round_trip_us bigint,
    packet_loss double precision,
    packets bigint,
    quality text NOT NULL,
    reasons text NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_qoe_subscriptions (
    customer text NOT NULL,
    subscription_id text NOT NULL,
    client_state_hash text NOT NULL,
    app_id text NOT NULL,
    state text NOT NULL,
    expires_at bigint NOT NULL,
    last_error text NOT NULL,
    last_seen_start bigint NOT NULL,
    created_at bigint NOT NULL,
    renewed_at bigint NOT NULL,
    rejected bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_synced_users (
    customer text NOT NULL,
    id text NOT NULL,
    user_principal_name text NOT NULL,
    display_name text NOT NULL,
    data text NOT NULL,
    hash text NOT NULL,
    generation bigint NOT NULL,
    updated_at bigint NOT NULL,
    line_uri text,
    enterprise_voice_enabled boolean
);

CREATE TABLE __SCHEMA__.tenantgate_synced_users_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_user_sync_checkpoints (
    customer text NOT NULL,
    delta_link text NOT NULL,
    query_key text NOT NULL,
    full_at bigint NOT NULL,
    rounds bigint NOT NULL,
    full_requests bigint NOT NULL,
    delta_requests bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_user_sync_passes (
    customer text NOT NULL,
    generation bigint NOT NULL,
    state text NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint NOT NULL,
    added bigint NOT NULL,
    changed bigint NOT NULL,
    unchanged bigint NOT NULL,
    removed bigint NOT NULL,
    committed_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_voice_holds (
    customer text NOT NULL,
    number text NOT NULL,
    kind text NOT NULL,
    holder text NOT NULL,
    until bigint NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_voice_migrations (
    version bigint NOT NULL,
    applied_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_voice_numbers (
    customer text NOT NULL,
    number text NOT NULL,
    id text NOT NULL,
    number_type text NOT NULL,
    activation_state text NOT NULL,
    assignment_status text NOT NULL,
    target_id text NOT NULL,
    target_upn text NOT NULL,
    capabilities text NOT NULL,
    category text NOT NULL,
    location_id text NOT NULL,
    country text NOT NULL,
    city text NOT NULL,
    refreshed_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_voice_operations (
    id text NOT NULL,
    customer text NOT NULL,
    kind text NOT NULL,
    user_id text NOT NULL,
    state text NOT NULL,
    actor text NOT NULL,
    plan text NOT NULL,
    items text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    finished_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_voice_ranges (
    customer text NOT NULL,
    name text NOT NULL,
    first_number text NOT NULL,
    last_number text NOT NULL,
    number_type text NOT NULL,
    location_id text NOT NULL,
    quarantine_days integer NOT NULL
);

CREATE TABLE __SCHEMA__.tenantgate_webhook_deliveries (
    event_id text NOT NULL,
    endpoint text NOT NULL,
    customer text NOT NULL,
    type text NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_status integer DEFAULT 0 NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE __SCHEMA__.tokenstore_leases (
    name text NOT NULL COLLATE pg_catalog."C",
    holder text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE __SCHEMA__.tokenstore_migrations (
    version integer NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE __SCHEMA__.tokenstore_records (
    customer text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL COLLATE pg_catalog."C",
    version bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    sealed boolean NOT NULL,
    data bytea NOT NULL,
    CONSTRAINT tokenstore_records_version_check CHECK ((version > 0))
);

ALTER TABLE ONLY __SCHEMA__.river_job ALTER COLUMN id SET DEFAULT nextval('__SCHEMA__.river_job_id_seq'::regclass);

ALTER TABLE ONLY __SCHEMA__.river_notification ALTER COLUMN id SET DEFAULT nextval('__SCHEMA__.river_notification_id_seq'::regclass);

INSERT INTO __SCHEMA__.river_migration VALUES ('main', 1, '2026-12-06 00:36:08.624043+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 2, '2026-12-06 00:36:08.710116+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 3, '2026-12-06 00:36:08.801299+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 4, '2026-12-06 00:36:08.817984+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 5, '2026-12-06 00:36:08.828748+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 6, '2026-12-06 00:36:08.931925+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 7, '2026-12-06 00:36:08.940572+00');
INSERT INTO __SCHEMA__.river_migration VALUES ('main', 8, '2026-12-06 00:36:08.979352+00');

INSERT INTO __SCHEMA__.tenantgate_audit OVERRIDING SYSTEM VALUE VALUES (1, 1796517368599709, 'admin', 'settings.write', 'contoso', 'succeeded', '', '', '', '3b0e16d0ae473e957b995d2128f6b547b10e08da44056819ea4ee425a1e3f1e9');

INSERT INTO __SCHEMA__.tenantgate_audit_migrations VALUES (1, 1796517368587319074);
INSERT INTO __SCHEMA__.tenantgate_audit_migrations VALUES (2, 1796517368596424622);

INSERT INTO __SCHEMA__.tenantgate_events_migrations VALUES (1, 1796517368501139789);

INSERT INTO __SCHEMA__.tenantgate_fleet_replicas_migrations VALUES (1, 1796517369002653193);
INSERT INTO __SCHEMA__.tenantgate_fleet_replicas_migrations VALUES (2, 1796517369003362804);

INSERT INTO __SCHEMA__.tenantgate_qoe_migrations VALUES (1, 1796517368305827376);

INSERT INTO __SCHEMA__.tenantgate_synced_users_migrations VALUES (1, 1796517368153953275);
INSERT INTO __SCHEMA__.tenantgate_synced_users_migrations VALUES (2, 1796517368159337995);
INSERT INTO __SCHEMA__.tenantgate_synced_users_migrations VALUES (3, 1796517368179849034);

INSERT INTO __SCHEMA__.tenantgate_voice_migrations VALUES (1, 1796517368432135987);

INSERT INTO __SCHEMA__.tokenstore_migrations VALUES (1, '2026-12-06 00:36:07.886347+00');

INSERT INTO __SCHEMA__.tokenstore_records VALUES ('contoso', 'legacy', 'probe', 1, '2026-12-06 00:36:08.041803+00', '2026-12-06 00:36:08.041803+00', false, '\x6d616465206279206d61696e206265666f72652074656e616e74676174655f6d6967726174696f6e73');

SELECT pg_catalog.setval('__SCHEMA__.river_job_id_seq', 1, false);

SELECT pg_catalog.setval('__SCHEMA__.river_notification_id_seq', 1, false);

SELECT pg_catalog.setval('__SCHEMA__.tenantgate_audit_id_seq', 1, true);

ALTER TABLE ONLY __SCHEMA__.river_job
    ADD CONSTRAINT river_job_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.river_leader
    ADD CONSTRAINT river_leader_pkey PRIMARY KEY (name);

ALTER TABLE ONLY __SCHEMA__.river_migration
    ADD CONSTRAINT river_migration_pkey1 PRIMARY KEY (line, version);

ALTER TABLE ONLY __SCHEMA__.river_notification
    ADD CONSTRAINT river_notification_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.river_queue
    ADD CONSTRAINT river_queue_pkey PRIMARY KEY (name);

ALTER TABLE ONLY __SCHEMA__.tenantgate_audit_migrations
    ADD CONSTRAINT tenantgate_audit_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_audit
    ADD CONSTRAINT tenantgate_audit_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_credential_use
    ADD CONSTRAINT tenantgate_credential_use_pkey PRIMARY KEY (customer, hour);

ALTER TABLE ONLY __SCHEMA__.tenantgate_events
    ADD CONSTRAINT tenantgate_events_customer_dedupe_key_key UNIQUE (customer, dedupe_key);

ALTER TABLE ONLY __SCHEMA__.tenantgate_events_migrations
    ADD CONSTRAINT tenantgate_events_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_events
    ADD CONSTRAINT tenantgate_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_fleet_replicas_migrations
    ADD CONSTRAINT tenantgate_fleet_replicas_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_fleet_replicas
    ADD CONSTRAINT tenantgate_fleet_replicas_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_calls
    ADD CONSTRAINT tenantgate_qoe_calls_pkey PRIMARY KEY (customer, id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_daily
    ADD CONSTRAINT tenantgate_qoe_daily_pkey PRIMARY KEY (customer, day);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_migrations
    ADD CONSTRAINT tenantgate_qoe_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_pstn
    ADD CONSTRAINT tenantgate_qoe_pstn_pkey PRIMARY KEY (customer, day, kind, fqdn);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_streams
    ADD CONSTRAINT tenantgate_qoe_streams_pkey PRIMARY KEY (customer, call_id, stream_key);

ALTER TABLE ONLY __SCHEMA__.tenantgate_qoe_subscriptions
    ADD CONSTRAINT tenantgate_qoe_subscriptions_pkey PRIMARY KEY (customer);

ALTER TABLE ONLY __SCHEMA__.tenantgate_synced_users_migrations
    ADD CONSTRAINT tenantgate_synced_users_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_synced_users
    ADD CONSTRAINT tenantgate_synced_users_pkey PRIMARY KEY (customer, id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_user_sync_checkpoints
    ADD CONSTRAINT tenantgate_user_sync_checkpoints_pkey PRIMARY KEY (customer);

ALTER TABLE ONLY __SCHEMA__.tenantgate_user_sync_passes
    ADD CONSTRAINT tenantgate_user_sync_passes_pkey PRIMARY KEY (customer);

ALTER TABLE ONLY __SCHEMA__.tenantgate_voice_holds
    ADD CONSTRAINT tenantgate_voice_holds_pkey PRIMARY KEY (customer, number);

ALTER TABLE ONLY __SCHEMA__.tenantgate_voice_migrations
    ADD CONSTRAINT tenantgate_voice_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tenantgate_voice_numbers
    ADD CONSTRAINT tenantgate_voice_numbers_pkey PRIMARY KEY (customer, number);

ALTER TABLE ONLY __SCHEMA__.tenantgate_voice_operations
    ADD CONSTRAINT tenantgate_voice_operations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY __SCHEMA__.tenantgate_voice_ranges
    ADD CONSTRAINT tenantgate_voice_ranges_pkey PRIMARY KEY (customer, name);

ALTER TABLE ONLY __SCHEMA__.tenantgate_webhook_deliveries
    ADD CONSTRAINT tenantgate_webhook_deliveries_pkey PRIMARY KEY (event_id, endpoint);

ALTER TABLE ONLY __SCHEMA__.tokenstore_leases
    ADD CONSTRAINT tokenstore_leases_pkey PRIMARY KEY (name);

ALTER TABLE ONLY __SCHEMA__.tokenstore_migrations
    ADD CONSTRAINT tokenstore_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY __SCHEMA__.tokenstore_records
    ADD CONSTRAINT tokenstore_records_pkey PRIMARY KEY (customer, kind, name);

CREATE INDEX river_job_args_index ON __SCHEMA__.river_job USING gin (args);

CREATE INDEX river_job_kind ON __SCHEMA__.river_job USING btree (kind);

CREATE INDEX river_job_metadata_index ON __SCHEMA__.river_job USING gin (metadata);

CREATE INDEX river_job_prioritized_fetching_index ON __SCHEMA__.river_job USING btree (state, queue, priority, scheduled_at, id);

CREATE INDEX river_job_state_and_finalized_at_index ON __SCHEMA__.river_job USING btree (state, finalized_at) WHERE (finalized_at IS NOT NULL);

CREATE UNIQUE INDEX river_job_unique_idx ON __SCHEMA__.river_job USING btree (unique_key) WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND __SCHEMA__.river_job_state_in_bitmask(unique_states, state));

CREATE INDEX river_notification_created_at_idx ON __SCHEMA__.river_notification USING btree (created_at);

CREATE INDEX river_notification_topic_id_idx ON __SCHEMA__.river_notification USING btree (topic, id);

CREATE INDEX tenantgate_audit_customer ON __SCHEMA__.tenantgate_audit USING btree (customer, id);

CREATE INDEX tenantgate_audit_request ON __SCHEMA__.tenantgate_audit USING btree (customer, request_id, id);

CREATE INDEX tenantgate_events_at ON __SCHEMA__.tenantgate_events USING btree (at);

CREATE INDEX tenantgate_events_customer_at ON __SCHEMA__.tenantgate_events USING btree (customer, at);

CREATE INDEX tenantgate_qoe_calls_by_day ON __SCHEMA__.tenantgate_qoe_calls USING btree (customer, day);

CREATE INDEX tenantgate_qoe_calls_by_start ON __SCHEMA__.tenantgate_qoe_calls USING btree (customer, start_at, id);

CREATE INDEX tenantgate_qoe_subscriptions_by_id ON __SCHEMA__.tenantgate_qoe_subscriptions USING btree (subscription_id);

CREATE INDEX tenantgate_synced_users_by_generation ON __SCHEMA__.tenantgate_synced_users USING btree (customer, generation);

CREATE INDEX tenantgate_synced_users_by_line_uri ON __SCHEMA__.tenantgate_synced_users USING btree (customer, line_uri);

CREATE INDEX tenantgate_synced_users_by_upn ON __SCHEMA__.tenantgate_synced_users USING btree (customer, user_principal_name, id);

CREATE INDEX tenantgate_voice_numbers_free ON __SCHEMA__.tenantgate_voice_numbers USING btree (customer, assignment_status, number);

CREATE INDEX tenantgate_voice_numbers_target ON __SCHEMA__.tenantgate_voice_numbers USING btree (customer, target_id);

CREATE INDEX tenantgate_voice_operations_by_customer ON __SCHEMA__.tenantgate_voice_operations USING btree (customer, created_at);

CREATE UNIQUE INDEX tenantgate_voice_operations_one_per_user ON __SCHEMA__.tenantgate_voice_operations USING btree (customer, user_id) WHERE (state = ANY (ARRAY['queued'::text, 'running'::text]));

CREATE INDEX tenantgate_webhook_deliveries_customer ON __SCHEMA__.tenantgate_webhook_deliveries USING btree (customer, created_at);

CREATE INDEX tenantgate_webhook_deliveries_state ON __SCHEMA__.tenantgate_webhook_deliveries USING btree (state, created_at);

CREATE TRIGGER tenantgate_audit_no_change BEFORE DELETE OR UPDATE ON __SCHEMA__.tenantgate_audit FOR EACH ROW EXECUTE FUNCTION __SCHEMA__.tenantgate_audit_append_only();

CREATE TRIGGER tenantgate_audit_no_truncate BEFORE TRUNCATE ON __SCHEMA__.tenantgate_audit FOR EACH STATEMENT EXECUTE FUNCTION __SCHEMA__.tenantgate_audit_append_only();

