package sqlite

// migrations[i] upgrades the schema from version i to i+1. Applied
// migrations are recorded in schema_migrations; never edit a released
// migration, append a new one.
var migrations = []string{
	// 1: the causal chain, the intent graph and the plan archive.
	`
CREATE TABLE actions (
	seq              INTEGER NOT NULL,
	action_id        TEXT    NOT NULL UNIQUE,
	parent_action_id TEXT    NOT NULL DEFAULT '',
	run_id           TEXT    NOT NULL DEFAULT '',
	plan_id          TEXT    NOT NULL DEFAULT '',
	intent_id        TEXT    NOT NULL DEFAULT '',
	type             TEXT    NOT NULL,
	name             TEXT    NOT NULL DEFAULT '',
	timestamp_ms     INTEGER NOT NULL,
	hash             TEXT    NOT NULL,
	prev_hash        TEXT    NOT NULL DEFAULT '',
	body             TEXT    NOT NULL
);
CREATE INDEX actions_seq ON actions(seq);
CREATE INDEX actions_parent ON actions(parent_action_id);
CREATE INDEX actions_run ON actions(run_id, seq);
CREATE INDEX actions_plan ON actions(plan_id, seq);
CREATE INDEX actions_intent ON actions(intent_id, seq);
CREATE INDEX actions_type ON actions(type, seq);
CREATE INDEX actions_name ON actions(name, seq);
CREATE INDEX actions_time ON actions(timestamp_ms);

CREATE TABLE checkpoints (
	seq       INTEGER NOT NULL,
	head_hash TEXT    NOT NULL,
	time_ms   INTEGER NOT NULL,
	key_id    TEXT    NOT NULL,
	signature BLOB
);
CREATE INDEX checkpoints_seq ON checkpoints(seq);

CREATE TABLE intents (
	intent_id        TEXT PRIMARY KEY,
	status           TEXT    NOT NULL,
	priority         INTEGER NOT NULL,
	parent_intent    TEXT    NOT NULL DEFAULT '',
	created_ms       INTEGER NOT NULL,
	name             TEXT    NOT NULL DEFAULT '',
	goal             TEXT    NOT NULL DEFAULT '',
	original_request TEXT    NOT NULL DEFAULT '',
	body             TEXT    NOT NULL
);
CREATE INDEX intents_created ON intents(created_ms DESC, intent_id);
CREATE INDEX intents_status ON intents(status);
CREATE INDEX intents_parent ON intents(parent_intent);

CREATE TABLE intent_edges (
	from_id TEXT NOT NULL,
	to_id   TEXT NOT NULL,
	type    TEXT NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (from_id, to_id, type)
);
CREATE INDEX intent_edges_to ON intent_edges(to_id, type);

CREATE TABLE plans (
	hash       TEXT PRIMARY KEY,
	plan_id    TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	created_ms INTEGER NOT NULL,
	body       TEXT    NOT NULL
);
CREATE INDEX plans_plan_id ON plans(plan_id);
CREATE INDEX plans_created ON plans(created_ms);

CREATE TABLE plan_intents (
	hash      TEXT    NOT NULL REFERENCES plans(hash),
	position  INTEGER NOT NULL,
	intent_id TEXT    NOT NULL,
	PRIMARY KEY (hash, position)
);
CREATE INDEX plan_intents_intent ON plan_intents(intent_id);
`,
	// 2: most actions have no parent: index only those that have one
	// (queries by parent add "parent_action_id <> ''" so that the partial
	// index applies).
	`
DROP INDEX actions_parent;
CREATE INDEX actions_parent ON actions(parent_action_id, seq) WHERE parent_action_id <> '';
`,
}
