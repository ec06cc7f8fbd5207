-- Live-room job 9: a room's live top gifters, pushed to front ends as it changes.
-- The leaderboard of live-room job 6 (top_gifters: a non-windowed aggregate feeding a regular Top-N, updated as gifts
-- arrive) written into a push table: the job manager serves its changes at GET /v1/streams/leaderboard?key=ROOM
-- over Server-Sent Events or WebSocket, and the demo page at /demo/leaderboard/?room=42 draws room 42's board.

CREATE TABLE gifts (
  room_id BIGINT,
  user_id BIGINT,
  amount  BIGINT,
  ts      TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen',
  'stream' = 'gifts',
  'rooms' = '50',
  'users' = '2000',
  'skew' = '0.8',
  'rows-per-second' = '200',
  'max-out-of-orderness' = '5 s',
  'seed' = '9'
);

-- Keyed by (room_id, rn): each message upserts or deletes one place of one room's board; clients subscribe by room.
CREATE TABLE leaderboard (
  room_id BIGINT,
  rn      BIGINT,
  user_id BIGINT,
  total   BIGINT,
  gifts   BIGINT,
  PRIMARY KEY (room_id, rn) NOT ENFORCED
) WITH (
  'connector' = 'push',
  'key-column' = 'room_id',
  'buffer-size' = '10000'
);

INSERT INTO leaderboard
SELECT room_id, rn, user_id, total, gifts
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY total DESC) AS rn
  FROM (
    SELECT room_id, user_id, SUM(amount) AS total, COUNT(*) AS gifts
    FROM gifts
    GROUP BY room_id, user_id
  )
)
WHERE rn <= 5;
