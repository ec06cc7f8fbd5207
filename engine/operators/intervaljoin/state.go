package intervaljoin

import (
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
)

// add stores row i of the batch whose keys ke encoded: x encoded whole,
// its time t, and whether it has matched already. It returns the row's id.
func (st *side) add(ke *winbuf.Keys, i int, t int64, x []byte, matched bool) (int32, error) {
	id, err := st.store(ke.Hashes[i], ke.Rows.Row(i), t, x, matched)
	if err != nil {
		return 0, err
	}
	st.seq++
	st.ent[id].seq = st.seq
	return id, nil
}

// store stores row x with key k (hash h), time t and matched, after the
// key's rows of time <= t.
func (st *side) store(h uint64, k []byte, t int64, x []byte, matched bool) (int32, error) {
	kid, inserted, err := st.keys.FindOrInsertOne(h, k)
	if err != nil {
		return 0, err
	}
	if inserted {
		st.byKey = append(st.byKey, nil)
	}
	var id int32
	if k := len(st.free); k > 0 {
		id = st.free[k-1]
		st.free = st.free[:k-1]
	} else {
		id = int32(len(st.ent))
		st.ent = append(st.ent, entry{})
	}
	st.ent[id] = entry{time: t, off: len(st.arena), n: int32(len(x)), kid: int32(kid), matched: matched, live: true}
	st.arena = append(st.arena, x...)
	ids := st.byKey[kid]
	if len(ids) == 0 {
		st.nonEmpty++
	}
	// Rows come nearly in time order: insert from the end, after rows of
	// equal time.
	ids = append(ids, id)
	j := len(ids) - 1
	for j > 0 && st.ent[ids[j-1]].time > t {
		ids[j] = ids[j-1]
		j--
	}
	ids[j] = id
	st.byKey[kid] = ids
	st.heap.push(heapItem{time: t, id: id})
	st.live++
	return id, nil
}

// compact gives back the memory of dropped rows: it rewrites the arena when
// most of it is dropped rows, and rebuilds the key table when most keys
// have no rows.
func (st *side) compact() {
	if st.garbage > minArenaGarbage && st.garbage > len(st.arena)/2 {
		arena := make([]byte, 0, len(st.arena)-st.garbage+len(st.arena)/8)
		for id := range st.ent {
			e := &st.ent[id]
			if !e.live {
				continue
			}
			off := len(arena)
			arena = append(arena, st.arena[e.off:e.off+int(e.n)]...)
			e.off = off
		}
		st.arena, st.garbage = arena, 0
	}
	if empty := len(st.byKey) - st.nonEmpty; empty > minRebuild && empty > st.nonEmpty {
		keys := st.newTable()
		byKey := make([][]int32, 0, st.nonEmpty)
		for kid, ids := range st.byKey {
			if len(ids) == 0 {
				continue
			}
			// Distinct keys: each insertion is new, its id len(byKey).
			if _, _, err := keys.FindOrInsertOne(st.keys.Hash(uint32(kid)), st.keys.Key(uint32(kid))); err != nil {
				return // the old table stays as it is
			}
			byKey = append(byKey, ids)
		}
		for nk, ids := range byKey {
			for _, id := range ids {
				st.ent[id].kid = int32(nk)
			}
		}
		st.keys, st.byKey = keys, byKey
	}
}

// heapItem is a stored row in the cleanup order.
type heapItem struct {
	time int64
	id   int32
}

// timeHeap is a binary min-heap of rows by time.
type timeHeap struct{ items []heapItem }

func (h *timeHeap) Len() int      { return len(h.items) }
func (h *timeHeap) min() heapItem { return h.items[0] }
func (h *timeHeap) push(it heapItem) {
	h.items = append(h.items, it)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].time <= it.time {
			break
		}
		h.items[i] = h.items[p]
		i = p
	}
	h.items[i] = it
}

func (h *timeHeap) pop() heapItem {
	top := h.items[0]
	n := len(h.items) - 1
	last := h.items[n]
	h.items = h.items[:n]
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h.items[c+1].time < h.items[c].time {
			c++
		}
		if h.items[c].time >= last.time {
			break
		}
		h.items[i] = h.items[c]
		i = c
	}
	h.items[i] = last
	return top
}
