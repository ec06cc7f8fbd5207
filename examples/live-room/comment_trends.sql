-- Comment volume per room over the last 5 minutes, every 10 seconds, and the top 5 #topics# across all rooms
-- over the same windows.
-- Live-room job 3: sliding windows (HOP) over one source feeding two sinks, one through a window Top-N.

CREATE TABLE comments (
  room_id BIGINT,
  content STRING,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'comments',
  'rooms' = '20',
  'skew' = '1.2',
  'number-of-rows' = '100000',
  'event-time.rows-per-second' = '500',
  'max-out-of-orderness' = '5 s',
  'seed' = '7'
);

CREATE TABLE comment_volume (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  room_id      BIGINT,
  comments     BIGINT
) WITH (
  'connector' = 'blackhole'
);

CREATE TABLE hot_topics (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  topic        STRING,
  mentions     BIGINT,
  rn           BIGINT
) WITH (
  'connector' = 'print'
);

INSERT INTO comment_volume
SELECT window_start, window_end, room_id, COUNT(*)
FROM TABLE(HOP(TABLE comments, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, room_id;

INSERT INTO hot_topics
SELECT window_start, window_end, topic, mentions, rn
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY mentions DESC, topic) AS rn
  FROM (
    SELECT window_start, window_end, topic, COUNT(*) AS mentions
    FROM (
      SELECT window_start, window_end, REGEXP_EXTRACT(content, '#([^#]+)#', 1) AS topic
      FROM TABLE(HOP(TABLE comments, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '5' MINUTE))
    )
    WHERE topic IS NOT NULL
    GROUP BY window_start, window_end, topic
  )
)
WHERE rn <= 5;
