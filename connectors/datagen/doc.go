// Package datagen is the 'datagen' connector: the live-room event streams
// (gifts, comments, likes, room_events) and the gift_catalog dimension
// table, generated deterministically and fast.
//
// Row i of a stream is a pure function of ('seed', i): every random choice
// comes from a counter-based generator (a splitmix64 finalizer applied to
// the seed and the row index), so the same seed gives the same rows at any
// parallelism and batch size. Reader s of P produces the rows i with
// i mod P == s, in order, so all readers' event times advance together,
// and its position is simply the index of its next row. The source is a
// connectors.RestorableSource: restored at any parallelism P', reader s
// produces, in index order, the rows i mod P' == s that no reader of the
// checkpoint had returned (row i was returned iff i is below the next row
// of the old reader that owned it), so every row is produced exactly once
// and is the row an uninterrupted run produces.
//
// Event time: row i's nominal time is 'start-time' + i * 1000 /
// 'event-time.rows-per-second' milliseconds; its ts is that minus a uniform
// random delay in [0, 'max-out-of-orderness']. Rooms are drawn from a Zipf
// distribution with exponent 'skew' (room_id 1 is the hottest room; 0 is
// uniform) by Walker's alias method, O(1) per row; users uniformly from
// 1..'users'. Gifts come from a fixed catalogue of 200 gifts in four tiers
// (many cheap and popular, few expensive), the same rows gift_catalog
// serves. room_events follow viewer sessions: each of a fixed set of viewer
// slots enters a room, sends heartbeats and leaves, so session windows over
// (user_id, room_id) measure watch time.
//
// Columns are generated column by column into reused buffers; gifts run at
// tens of millions of rows per CPU-second (see the benchmarks).
package datagen
