-- Watch sessions per viewer and room: a viewer's enter, heartbeat and leave events in one room form a session
-- until two minutes pass without one.
-- Live-room job 4: session windows partitioned by (room_id, user_id).

CREATE TABLE room_events (
  room_id BIGINT,
  user_id BIGINT,
  kind    STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'room_events',
  'rooms' = '20',
  'users' = '2000',
  'skew' = '1.2',
  'number-of-rows' = '100000',
  'event-time.rows-per-second' = '200',
  'max-out-of-orderness' = '5 s',
  'seed' = '3'
);

CREATE TABLE watch_sessions (
  room_id       BIGINT,
  user_id       BIGINT,
  session_start TIMESTAMP(3),
  session_end   TIMESTAMP(3),
  first_seen    TIMESTAMP(3),
  last_seen     TIMESTAMP(3),
  watch_seconds INT,
  heartbeats    BIGINT
) WITH (
  'connector' = 'print'
);

INSERT INTO watch_sessions
SELECT room_id, user_id, window_start, window_end, MIN(ts), MAX(ts),
       TIMESTAMPDIFF(SECOND, MIN(ts), MAX(ts)),
       COUNT(*) FILTER (WHERE kind = 'heartbeat')
FROM TABLE(SESSION(TABLE room_events PARTITION BY (room_id, user_id), DESCRIPTOR(ts), INTERVAL '2' MINUTE))
GROUP BY window_start, window_end, room_id, user_id;
