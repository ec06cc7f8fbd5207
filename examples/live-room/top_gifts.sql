-- Top 3 gifts per room per minute of event time, by total amount.
-- Live-room job 1: a tumbling window aggregate feeding a window Top-N.

CREATE TABLE gifts (
  room_id  BIGINT,
  user_id  BIGINT,
  gift_id  INT,
  quantity INT,
  amount   BIGINT,
  ts       TIMESTAMP(3),
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

CREATE TABLE top_gifts (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  room_id      BIGINT,
  gift_id      INT,
  total_amount BIGINT,
  rn           BIGINT
) WITH (
  'connector' = 'print'
);

INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                       ORDER BY total_amount DESC) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id, gift_id
  )
)
WHERE rn <= 3;
