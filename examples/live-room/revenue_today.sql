-- Gift revenue per room, today so far, updated every minute of event time.
-- Live-room job 2: a cumulating window (CUMULATE, one-minute steps up to a day).

CREATE TABLE gifts (
  room_id BIGINT,
  amount  BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'gifts',
  'rooms' = '20',
  'skew' = '1.2',
  'number-of-rows' = '200000',
  'event-time.rows-per-second' = '1000',
  'max-out-of-orderness' = '5 s',
  'seed' = '42'
);

CREATE TABLE revenue_today (
  day_start   TIMESTAMP(3),
  as_of       TIMESTAMP(3),
  room_id     BIGINT,
  revenue     BIGINT,
  gifts       BIGINT
) WITH (
  'connector' = 'print'
);

INSERT INTO revenue_today
SELECT window_start, window_end, room_id, SUM(amount), COUNT(*)
FROM TABLE(CUMULATE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' DAY))
GROUP BY window_start, window_end, room_id;
