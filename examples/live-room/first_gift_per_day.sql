-- The first gift of each viewer in each room per day.
-- Live-room job 8: deduplication (ROW_NUMBER ... ORDER BY ts ASC = 1) on the event-time attribute. A gift that
-- arrives out of order but happened earlier replaces the one shown so far, so the sink, keyed by (room_id, user_id,
-- day), receives upserts.

CREATE TABLE gifts (
  room_id BIGINT,
  user_id BIGINT,
  gift_id INT,
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

CREATE TABLE first_gifts (
  room_id BIGINT,
  user_id BIGINT,
  `day`   STRING,
  gift_id INT,
  amount  BIGINT,
  ts      TIMESTAMP(3),
  PRIMARY KEY (room_id, user_id, `day`) NOT ENFORCED
) WITH (
  'connector' = 'print'
);

INSERT INTO first_gifts
SELECT room_id, user_id, `day`, gift_id, amount, ts
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY room_id, user_id, `day` ORDER BY ts ASC) AS rn
  FROM (SELECT room_id, user_id, DATE_FORMAT(ts, 'yyyy-MM-dd') AS `day`, gift_id, amount, ts FROM gifts)
)
WHERE rn = 1;
