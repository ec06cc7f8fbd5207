// Package nexmark is the 'nexmark' connector: the Nexmark benchmark's
// person, auction and bid events, generated as the nexmark/nexmark Flink
// source generates them (a port of Apache Beam's generator), but seeded
// and column by column.
//
// # Tables
//
// Flink's nexmark exposes one wide table of (event_type, person ROW,
// auction ROW, bid ROW) and the views person, auction and bid over it. Eddy
// has no ROW type, so the connector serves the three views directly: the
// option 'table' is 'person', 'auction' or 'bid', and the table's columns
// are the flattened ROW fields with Flink's names:
//
//	person:  id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING,
//	         state STRING, dateTime TIMESTAMP(3), extra STRING
//	auction: id BIGINT, itemName STRING, description STRING, initialBid BIGINT,
//	         reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
//	         category BIGINT, extra STRING
//	bid:     auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
//	         dateTime TIMESTAMP(3), extra STRING
//
// A table declares some or all of its columns, by name, in any order.
// Every table walks the same event sequence and keeps the events of its
// kind, so tables declared with the same options see one consistent stream
// (a bid's auction and bidder ids refer to the auction and person tables'
// ids), exactly as Flink's three views of one source do. The factory is a
// connectors.ProjectableSource: a reader builds only the columns the job
// reads, so a query on three bid columns does not pay for url or extra.
//
// # Events
//
// Event ids run from 2 (upstream passes first event id 1 and first event
// number 1). The kind of event e is fixed by r = e mod (person + auction +
// bid proportions), 1 : 3 : 46 by default: r below the person proportion
// is a person, the next 'auction.proportion' residues auctions, the rest
// bids. Person and auction ids count the persons and auctions before them
// (plus 1000). An auction's seller is, with probability 1 - 1/4, the hot
// seller (the first person of the current block of 100), else one of the
// last 1000 people or 10 not yet created; a bid's auction is, with
// probability 1 - 1/2, the hot auction (the first of the current block of
// 100 auctions), else one of the last 100 auctions or 10 ahead; its bidder
// is, with probability 1 - 1/4, the hot bidder (the second person of the
// block), else an active person. Categories are 10 to 14. Prices are
// log-uniform from 100 to 100,000,000 cents; an auction's reserve is its
// initial bid plus another price. Names, cities, states and credit cards
// come from upstream's lists and formats; item names, descriptions and
// e-mail parts are random lowercase words (3 to max-1 characters, about
// one in 13 a space, trimmed). Half of the bids come through one of the
// hot channels Google, Facebook, Baidu and Apple (one URL each), the others
// through one of 10,000 channels 'channel-<i>' whose URL ends, for 9 in 10
// of them, in '&channel_id=<|Integer.reverse(i)|>' (what Q21 extracts).
// 'extra' pads an event to the average sizes (person 200, auction 500,
// bid 100 bytes by default, counting 8 bytes per number or time): its
// length is uniform within ±20 % of the missing bytes.
//
// # Time
//
// Like upstream, the source is split among its P readers: reader i gets the
// i-th of P equal shares of the event ids (the last also the remainder) and
// is a generator on its own timeline. Its k-th event (k from 0) has event
// time 'base-time' + ⌊(k+1) · 1e6 · P / 'first-event.rate'⌋ / 1000 ms
// (integer microseconds, truncated to milliseconds), so the readers
// together produce 'first-event.rate' events per second of event time and
// each reader's events are in order. An auction expires 1 ms plus a random
// time below twice the event time its generator needs for 100·50/3 more
// events. Declare the watermark Flink's nexmark DDL declares:
// WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND.
//
// # Deviations from upstream
//
//   - Seeded: every random choice of event e is a hash of ('seed', e), so
//     the same options give the same events (upstream's generators are
//     unseeded and differ from run to run). The id arithmetic, kinds and
//     timestamps are upstream's exactly; the random fields follow
//     upstream's distributions, not its random number sequence.
//   - 'base-time' defaults to a fixed instant instead of the wall clock at
//     planning time.
//   - Bidder ids: since 2021 upstream's BidGenerator adds FIRST_PERSON_ID
//     twice, shifting every bidder by 2000 instead of 1000, so that bidders
//     never match person ids. Eddy adds it once, as Beam's original
//     generator and the Rust ports (Arroyo, Feldera) do: a bid's bidder is
//     a person id, and bid.bidder = person.id joins find the bidder.
//   - The hot URLs and the channel URLs come from the seed; upstream makes
//     them once per JVM with an unseeded generator.
//   - 'next-event.rate' is accepted and ignored, as upstream effectively
//     does; 'rate.shape', 'rate.period', 'rate.limited', 'keep-alive' and
//     'stop-at' are not accepted. With 'max-emit-speed' = 'false' each
//     reader paces itself so that event time follows the wall clock from
//     its first batch (upstream's throttle).
//
// # Checkpoints
//
// The source is a connectors.RestorableSource. A reader's position is its
// timeline (first id, number of events, event spacing, base time) and how
// many of its events it passed. Restored at any parallelism, the old
// readers' unfinished timelines are kept as they were (so every event
// keeps its id and event time) and dealt round-robin to the new readers; a
// reader given several merges them by event time. Restored at more readers
// than there are unfinished timelines, the extra readers get none (bounded:
// they end at once; unbounded: they stay empty, so declare the source idle
// timeout, or restore at no more readers than before).
//
// Generation is column by column into reused buffers, strings being copies
// of slices of two fixed 1 MiB random texts (as upstream cuts 'extra').
// See BenchmarkGenerate for rows per CPU-second.
package nexmark
