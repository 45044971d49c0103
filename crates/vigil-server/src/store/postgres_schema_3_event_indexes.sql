-- Version 3: raw events filtered by type, node, pod or container-id prefix, each on an
-- index of its own (as SQLite's schema_3_event_indexes.sql). `text_pattern_ops` is not
-- needed: the prefix is a range (>= and <), which a plain B-tree answers.
CREATE INDEX events_kind_time ON events (kind, time);
CREATE INDEX events_node_time ON events (node, time);
CREATE INDEX events_pod_time ON events (pod, time);
CREATE INDEX events_container_time ON events (container, time);
