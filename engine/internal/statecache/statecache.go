package statecache

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state"
)

const (
	// Option is the job option that caps the keys an updating operator
	// subtask keeps in memory.
	Option = "table.exec.state.cache-size"
	// DefaultLimit is the cap over an on-disk backend when the job sets
	// none.
	DefaultLimit = 1_000_000
	// EvictedMetric counts keys written out of memory into keyed state.
	EvictedMetric = "state_cache_evicted"
	// LoadedMetric counts keys read back from keyed state into memory.
	LoadedMetric = "state_cache_loaded"
	// minLimit is the smallest cap accepted: a batch's keys must fit.
	minLimit = 16
	// WriteBehindOption is the job option that caps the keys an updating
	// operator subtask holds changed in memory only, not yet written to
	// keyed state: past it they are written between two batches, so the
	// work at a checkpoint barrier stays bounded. Unset, there is no cap
	// beyond the cache itself: writing behind costs a keyed-state write per
	// changed key per cap's worth of changes (5x fewer rows per CPU-second
	// in the worst case, a million keys changing uniformly), which only
	// pays off when the barrier's pause matters more than throughput.
	WriteBehindOption = "table.exec.state.write-behind-keys"
)

// WriteBehind returns the most changed keys the operator of oc keeps
// unwritten between checkpoints, or 0 for no limit (the default; also
// over an in-memory backend, state.InMemory, where writing early would
// only copy state).
func WriteBehind(oc *operator.Context) (int, error) {
	if oc.State == nil || state.InMemory(oc.State) {
		return 0, nil
	}
	v, ok := oc.Config[WriteBehindOption]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("option '%s' = '%s': want a positive number of keys", WriteBehindOption, v)
	}
	return n, nil
}

// Limit returns the most keys the operator of oc keeps in memory, or 0 for
// no limit. See the package comment.
func Limit(oc *operator.Context) (int, error) {
	v, ok := oc.Config[Option]
	if !ok {
		if oc.State == nil || state.InMemory(oc.State) {
			return 0, nil
		}
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minLimit {
		return 0, fmt.Errorf("option '%s' = '%s': want a number of keys of at least %d", Option, v, minLimit)
	}
	return n, nil
}

// Target is the number of keys to keep after an eviction that a cache of
// limit keys needs: three quarters of it, so an eviction, whose cost grows
// with the cache, happens at most once per limit/4 new keys.
func Target(limit int) int { return limit - limit/4 }

// Metrics are an operator's cache counters.
type Metrics struct {
	Evicted, Loaded operator.Counter
}

// NewMetrics registers the cache counters of oc (counters that count
// nothing without metrics).
func NewMetrics(oc *operator.Context) Metrics {
	if oc.Metrics == nil {
		return Metrics{Evicted: nop{}, Loaded: nop{}}
	}
	return Metrics{
		Evicted: oc.Metrics.Counter(EvictedMetric, "Keys of an updating operator's state moved out of memory into keyed state."),
		Loaded:  oc.Metrics.Counter(LoadedMetric, "Keys of an updating operator's state read back from keyed state into memory."),
	}
}

type nop struct{}

func (nop) Add(float64) {}

// Victims appends to dst the ids i in [0, len(stamps)) with live(i) whose
// stamps are the n smallest (ties to the smaller id) and returns it sorted
// by id. stamps[i] is the logical time id i was last touched. Fewer than n
// are chosen when fewer ids are live. The cost is O(m log m) for m live
// ids.
func Victims(dst []uint32, stamps []uint64, live func(id uint32) bool, n int) []uint32 {
	if n <= 0 {
		return dst
	}
	type cand struct {
		stamp uint64
		id    uint32
	}
	cs := make([]cand, 0, len(stamps))
	for i, s := range stamps {
		if live(uint32(i)) {
			cs = append(cs, cand{s, uint32(i)})
		}
	}
	if n >= len(cs) {
		n = len(cs)
	} else {
		slices.SortFunc(cs, func(a, b cand) int {
			if c := cmp.Compare(a.stamp, b.stamp); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
	}
	start := len(dst)
	for _, c := range cs[:n] {
		dst = append(dst, c.id)
	}
	slices.Sort(dst[start:])
	return dst
}
