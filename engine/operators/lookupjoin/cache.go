package lookupjoin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
)

// cache holds dimension rows by key: a hash table over the encoded key
// columns maps each key to a dense group id; per group, the rows of that
// key are a contiguous run of refs into retained record chunks. A group
// whose key is not (or no longer) cached keeps its id until the table is
// rebuilt.
type cache struct {
	keys *winbuf.Keys // encodes keys (the input's key columns)
	tbl  *hashtable.Table

	// Per group.
	cached []bool
	first  []int32 // first ref of the group's run
	count  []int32 // refs in the run
	exp    []int64 // processing time the entry expires at
	stamp  []int64 // write stamp, to match queue entries

	refs   []ref
	dead   int // refs of groups no longer cached
	chunks []arrow.RecordBatch
	live   []int // live refs per chunk; a chunk is released at 0
	nlive  int   // cached groups

	// queue lists cache writes in order (expire-after-write: also expiry
	// order); entries whose stamp is stale are skipped.
	queue []entry
	head  int
	seq   int64
}

type entry struct {
	group uint32
	stamp int64
}

func newCache(k *winbuf.Keys) *cache { return &cache{keys: k, tbl: k.NewTable()} }

// ensure sizes the per-group arrays for every group of the table.
func (c *cache) ensure() {
	for n := c.tbl.Len(); len(c.cached) < n; {
		c.cached = append(c.cached, false)
		c.first = append(c.first, 0)
		c.count = append(c.count, 0)
		c.exp = append(c.exp, math.MaxInt64)
		c.stamp = append(c.stamp, 0)
	}
}

// addChunk retains rec as a chunk holding n live refs and returns its index.
func (c *cache) addChunk(rec arrow.RecordBatch, n int) int32 {
	rec.Retain()
	for i, ch := range c.chunks {
		if ch == nil {
			c.chunks[i], c.live[i] = rec, n
			return int32(i)
		}
	}
	c.chunks = append(c.chunks, rec)
	c.live = append(c.live, n)
	return int32(len(c.chunks) - 1)
}

// set caches the refs rs for group g until exp.
func (c *cache) set(g uint32, rs []ref, exp int64) {
	if c.cached[g] {
		c.drop(g)
	}
	c.cached[g] = true
	c.first[g], c.count[g] = int32(len(c.refs)), int32(len(rs))
	c.refs = append(c.refs, rs...)
	c.exp[g] = exp
	c.seq++
	c.stamp[g] = c.seq
	c.queue = append(c.queue, entry{g, c.seq})
	c.nlive++
}

// rows returns the refs of cached group g.
func (c *cache) rows(g uint32) []ref { return c.refs[c.first[g] : c.first[g]+c.count[g]] }

// drop uncaches group g, releasing chunks no cached row needs any more.
func (c *cache) drop(g uint32) {
	if !c.cached[g] {
		return
	}
	for _, r := range c.rows(g) {
		c.live[r.Chunk]--
		if c.live[r.Chunk] == 0 {
			c.chunks[r.Chunk].Release()
			c.chunks[r.Chunk] = nil
		}
	}
	c.dead += int(c.count[g])
	c.cached[g], c.count[g] = false, 0
	c.nlive--
}

// evict drops the entries that expired by now, then the oldest ones while
// more than maxKeys keys are cached (0: no bound). It returns how many it
// dropped.
func (c *cache) evict(now int64, maxKeys int64) int {
	n := 0
	for c.head < len(c.queue) {
		e := c.queue[c.head]
		if c.stamp[e.group] != e.stamp || !c.cached[e.group] {
			c.head++
			continue
		}
		if c.exp[e.group] > now && (maxKeys <= 0 || int64(c.nlive) <= maxKeys) {
			break
		}
		c.drop(e.group)
		c.head++
		n++
	}
	c.compact()
	return n
}

// compact reclaims the refs and queue entries of dropped groups, and
// rebuilds the hash table when most of its keys are no longer cached.
func (c *cache) compact() {
	if c.head > 1024 && c.head > len(c.queue)/2 {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
	if c.tbl.Len() > 4096 && c.tbl.Len() > 4*c.nlive {
		c.rebuild()
		return
	}
	if c.dead > 4096 && c.dead > len(c.refs)/2 {
		refs := make([]ref, 0, len(c.refs)-c.dead)
		for g, ok := range c.cached {
			if ok {
				f := int32(len(refs))
				refs = append(refs, c.rows(uint32(g))...)
				c.first[g] = f
			}
		}
		c.refs, c.dead = refs, 0
	}
}

// rebuild makes a new table of the cached keys only.
func (c *cache) rebuild() {
	old := c.tbl
	c.tbl = c.keys.NewTable()
	n := c.nlive
	cached, first, count, exp, stamp := make([]bool, n), make([]int32, n), make([]int32, n), make([]int64, n), make([]int64, n)
	refs := make([]ref, 0, len(c.refs)-c.dead)
	remap := make(map[uint32]uint32, n)
	for g, ok := range c.cached {
		if !ok {
			continue
		}
		id, _, _ := c.tbl.FindOrInsertOne(old.Hash(uint32(g)), old.Key(uint32(g)))
		remap[uint32(g)] = id
		cached[id], exp[id], stamp[id] = true, c.exp[g], c.stamp[g]
		first[id], count[id] = int32(len(refs)), c.count[g]
		refs = append(refs, c.rows(uint32(g))...)
	}
	c.cached, c.first, c.count, c.exp, c.stamp, c.refs, c.dead = cached, first, count, exp, stamp, refs, 0
	q := make([]entry, 0, n)
	for _, e := range c.queue[c.head:] {
		if id, ok := remap[e.group]; ok && c.stamp[id] == e.stamp {
			q = append(q, entry{id, e.stamp})
		}
	}
	c.queue, c.head = q, 0
}

// clear drops everything.
func (c *cache) clear() {
	for i, ch := range c.chunks {
		if ch != nil {
			ch.Release()
			c.chunks[i] = nil
		}
	}
	c.chunks, c.live = c.chunks[:0], c.live[:0]
	c.tbl = c.keys.NewTable()
	c.cached, c.first, c.count, c.exp, c.stamp = c.cached[:0], c.first[:0], c.count[:0], c.exp[:0], c.stamp[:0]
	c.refs, c.dead, c.nlive = c.refs[:0], 0, 0
	c.queue, c.head = c.queue[:0], 0
}
