-- Version 3: raw events are filtered by type and looked up by node or pod name or by the
-- start of a container id; without these a filtered page scans every event held.
CREATE INDEX events_kind_time ON events (kind, time);
CREATE INDEX events_node_time ON events (node, time);
CREATE INDEX events_pod_time ON events (pod, time);
CREATE INDEX events_container_time ON events (container, time);
