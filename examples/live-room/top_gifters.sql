-- A live leaderboard: the top 3 gifters of each room by total amount since the job started, updated as gifts arrive.
-- Live-room job 6: a non-windowed aggregate feeding a regular Top-N. Both update their results; the sink, keyed by
-- (room_id, rn), receives upserts (+I, +U, -D), which a front end applies to its copy of the leaderboard.

CREATE TABLE gifts (
  room_id BIGINT,
  user_id BIGINT,
  amount  BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'gifts',
  'rooms' = '20',
  'users' = '5000',
  'skew' = '1.2',
  'number-of-rows' = '200000',
  'event-time.rows-per-second' = '1000',
  'max-out-of-orderness' = '5 s',
  'seed' = '42'
);

CREATE TABLE top_gifters (
  room_id BIGINT,
  rn      BIGINT,
  user_id BIGINT,
  total   BIGINT,
  PRIMARY KEY (room_id, rn) NOT ENFORCED
) WITH (
  'connector' = 'print'
);

INSERT INTO top_gifters
SELECT room_id, rn, user_id, total
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY total DESC) AS rn
  FROM (
    SELECT room_id, user_id, SUM(amount) AS total
    FROM gifts
    GROUP BY room_id, user_id
  )
)
WHERE rn <= 3;
