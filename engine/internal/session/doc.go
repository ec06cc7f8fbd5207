// Package session tracks SESSION windows for the operators that use them:
// session aggregation (sessionagg) and the SESSION window TVF evaluated on
// its own (windowassign).
//
// Semantics are Flink's. Every row opens a minimal window [ts, ts + gap) in
// its partition (the distinct values of the PARTITION BY columns). Windows of
// one partition that intersect or touch (start <= other end and end >= other
// start, as Flink's TimeWindow.intersects) merge into one session, the
// smallest window covering them, so a row that falls between two sessions
// bridges them. A session fires once the watermark reaches its end - 1; it is
// then closed for good: a later row never joins it. Lateness is decided on
// the merged window, as Flink's MergingWindowProcessFunction does: a row is
// late, dropped and counted, when its own window is already complete
// (ts + gap - 1 <= watermark) and it touches no open session; a row whose own
// window is complete but that touches an open session joins that session.
//
// The Tracker keeps, per partition, its open sessions as a list sorted by
// start (they are disjoint, so this is also end order), in a slab of session
// slots. Partitions are dense ids from a hash table of encoded partition keys
// (the hash is the one the hash exchange partitions by, so it also gives the
// key group state is written under). Sessions wait for the watermark in a
// min-heap on their end with lazy updates: extending a session does not touch
// the heap; when an entry comes up whose session has since grown, it is
// pushed again at the new end, and entries of merged-away sessions are
// skipped. Firing therefore costs O(log n) per session, not a scan of every
// open session per watermark, and sessions fire in end order.
//
// Placing a row is a walk of its partition's (short) session list; the
// operators hash and encode keys and fold aggregates a column at a time
// around it. Rows are placed in arrival order because that order decides
// lateness: a late row joins a session only if the session is open when the
// row arrives.
//
// Session slots and partition ids are reused: merged-away slots after the
// batch that merged them (so rows of that batch can still be forwarded to the
// surviving session), fired slots after Release, and the partition table is
// rebuilt without idle partitions once they outnumber busy ones, so memory
// follows the open sessions, not every key ever seen.
//
// Spilling is the operators' business (what a session holds differs), but
// the Tracker does the state bookkeeping. A spill round (BeginSpill,
// AddDelta per session, EndSpill) writes, without reading, one entry per key
// group holding the deltas of every session spilled in that round, indexed
// by session uid: a few large blind writes, as the window buffer (winbuf)
// does, rather than one per session. A session remembers the (round, uid)
// of each of its deltas, and a merge hands the absorbed session's deltas to
// the survivor. Firing a session reads each delta with one Get and a binary
// search in the entry's index; the Tracker counts each entry's unread
// deltas and deletes the entry with its last one. Entries are keyed
//
//	key group (state.KeyPrefix) | round (8 bytes BE)
//
// so they move with their key group. (Sessions fire one by one, at their
// own ends, so unlike windows they cannot be given a key range to scan and
// delete at once.) What the Tracker remembers about sessions and their
// spilled deltas is written at a checkpoint as one record per changed
// session (Snapshot) and rebuilt from the records (Restore); snapshot.go
// has the layout.
package session
