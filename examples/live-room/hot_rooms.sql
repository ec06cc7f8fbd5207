-- Hot rooms right now: the top 10 rooms by interactions (gifts + comments + likes) over the last minute, every
-- 10 seconds - the recommendation signal.
-- Live-room job 5: three streams unioned, a sliding window aggregate, a window Top-N.

CREATE TABLE gifts (
  room_id BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'rooms' = '50', 'skew' = '1.1',
        'number-of-rows' = '60000', 'event-time.rows-per-second' = '300', 'max-out-of-orderness' = '5 s',
        'seed' = '1');

CREATE TABLE comments (
  room_id BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'comments', 'rooms' = '50', 'skew' = '1.1',
        'number-of-rows' = '100000', 'event-time.rows-per-second' = '500', 'max-out-of-orderness' = '5 s',
        'seed' = '2');

CREATE TABLE likes (
  room_id BIGINT,
  `count` INT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'likes', 'rooms' = '50', 'skew' = '1.1',
        'number-of-rows' = '40000', 'event-time.rows-per-second' = '200', 'max-out-of-orderness' = '5 s',
        'seed' = '3');

CREATE TABLE hot_rooms (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  room_id      BIGINT,
  interactions BIGINT,
  rn           BIGINT
) WITH (
  'connector' = 'print'
);

CREATE TEMPORARY VIEW interactions AS
  SELECT room_id, ts, CAST(1 AS BIGINT) AS weight FROM gifts
  UNION ALL
  SELECT room_id, ts, CAST(1 AS BIGINT) FROM comments
  UNION ALL
  SELECT room_id, ts, CAST(`count` AS BIGINT) FROM likes;

INSERT INTO hot_rooms
SELECT window_start, window_end, room_id, interactions, rn
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY interactions DESC, room_id) AS rn
  FROM (
    SELECT window_start, window_end, room_id, SUM(weight) AS interactions
    FROM TABLE(HOP(TABLE interactions, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id
  )
)
WHERE rn <= 10;
