-- Gifts enriched with the gift's name and tier from the gift catalogue, a CSV file.
-- Live-room job 7: a lookup join (FOR SYSTEM_TIME AS OF a processing-time attribute). The filesystem table serves
-- lookups as it is: it is read whole into the join's cache, keyed by the join key, and re-read when the cache TTL
-- ('lookup.cache.ttl') passes.

CREATE TABLE gifts (
  room_id   BIGINT,
  user_id   BIGINT,
  gift_id   INT,
  quantity  INT,
  amount    BIGINT,
  ts        TIMESTAMP(3),
  proc_time AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'gifts',
  'rooms' = '20',
  'users' = '5000',
  'skew' = '1.2',
  'number-of-rows' = '100000',
  'event-time.rows-per-second' = '1000',
  'max-out-of-orderness' = '5 s',
  'seed' = '42'
);

CREATE TABLE gift_catalog (
  gift_id INT,
  name    STRING,
  price   BIGINT,
  tier    STRING
) WITH (
  'connector' = 'filesystem',
  'path' = 'examples/live-room/gift_catalog.csv',
  'format' = 'csv'
);

CREATE TABLE enriched_gifts (
  room_id   BIGINT,
  user_id   BIGINT,
  gift_id   INT,
  gift_name STRING,
  tier      STRING,
  quantity  INT,
  amount    BIGINT,
  ts        TIMESTAMP(3)
) WITH (
  'connector' = 'blackhole'
);

INSERT INTO enriched_gifts
SELECT g.room_id, g.user_id, g.gift_id, c.name, c.tier, g.quantity, g.amount, g.ts
FROM gifts AS g
JOIN gift_catalog FOR SYSTEM_TIME AS OF g.proc_time AS c
  ON g.gift_id = c.gift_id;
