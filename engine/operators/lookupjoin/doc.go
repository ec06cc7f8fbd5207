// Package lookupjoin implements the "lookup_join" operator
// (jobgraph.LookupJoinSpec): `JOIN dim FOR SYSTEM_TIME AS OF t.proc_time ON
// t.k = dim.k`, every input row joined with the dimension table's rows of
// its key as they are at processing time.
//
// The dimension table is opened through operator.Context.Connector. When
// its factory is a connectors.LookupSourceFactory, keys missing from the
// cache are looked up in one Lookuper call per input batch (the distinct
// missing keys), and each key's rows (none, too) are cached for CacheTTLMs
// of processing time after they were written (0: for ever), at most
// CacheMaxRows keys (0: no bound; the oldest writes go first). Otherwise
// the table must be a bounded source (a filesystem csv or json table, for
// the gift catalogue): it is read whole, with a fresh source so new or
// rewritten files are seen, into the cache, and read again at the first
// batch after CacheTTLMs has passed (0: loaded once); CacheMaxRows does not
// apply to a table loaded whole.
//
// The cache is columnar and organised by key: a hash table over the encoded
// key columns (engine/internal/hashtable) gives each key a group id, and a
// group's rows are a run of references into retained Arrow record chunks;
// output columns are gathered a column at a time. NULL keys never match;
// all rows of a key join; the Residual condition is evaluated over the
// candidate output rows; with Left an input row none of whose candidates
// passes is kept once, NULL-padded. Output rows keep their input row's kind
// and the input order.
//
// Counters: lookups (Lookuper calls), lookup_cache_hits and
// lookup_cache_misses (input rows with a non-NULL key, lookup tables only),
// lookup_reloads (whole-table loads, the first included).
package lookupjoin
