package temporaljoin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/gather"
	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// OutputBatchRows is the largest batch the operator emits.
const OutputBatchRows = winbuf.OutputBatchRows

// Metric names.
const (
	// NullRowtimeMetric counts rows dropped because their time is NULL.
	NullRowtimeMetric = winbuf.NullRowtimeMetric
	// StateExpiredMetric counts versions dropped by the state TTL.
	StateExpiredMetric = "state_expired"
)

var sideName = [2]string{"left", "right"}

// version is one version of a right key: valid from Time on, until the
// next version. Row -1 marks a deletion.
type version struct {
	Time  int64
	Chunk int32
	Row   int32
}

// pending is a buffered left row.
type pending struct {
	Time  int64
	Seq   int64 // arrival order, to keep equal times stable
	Chunk int32
	Row   int32
	Group int32 // the key's group, or -1 for a NULL key
	KG    int32 // the key group of its key (state keys)
}

// store is a set of retained record chunks with a count of live references
// each; a chunk is released when its count drops to zero.
type store struct {
	chunks []arrow.RecordBatch
	live   []int
	free   []int32 // released chunk slots
	rows   int     // rows of the retained chunks
	nlive  int     // live references
}

func (s *store) add(rec arrow.RecordBatch, n int) int32 {
	rec.Retain()
	s.rows += int(rec.NumRows())
	s.nlive += n
	if k := len(s.free); k > 0 {
		i := s.free[k-1]
		s.free = s.free[:k-1]
		s.chunks[i], s.live[i] = rec, n
		return i
	}
	s.chunks = append(s.chunks, rec)
	s.live = append(s.live, n)
	return int32(len(s.chunks) - 1)
}

func (s *store) ref(c int32, n int) { s.live[c] += n; s.nlive += n }

func (s *store) unref(c int32) {
	s.live[c]--
	s.nlive--
	if s.live[c] == 0 {
		s.rows -= int(s.chunks[c].NumRows())
		s.chunks[c].Release()
		s.chunks[c] = nil
		s.free = append(s.free, c)
	}
}

func (s *store) release() {
	for i, c := range s.chunks {
		if c != nil {
			c.Release()
			s.chunks[i] = nil
		}
	}
	s.chunks, s.live, s.free, s.rows, s.nlive = nil, nil, nil, 0, 0
}

// Operator is the event-time temporal join. See the package comment.
type Operator struct {
	id    string
	spec  *jobgraph.TemporalJoinSpec
	out   *arrow.Schema
	outT  types.Schema
	width [2]int // columns per side, once known

	oc      *operator.Context
	mem     memory.Allocator
	log     *slog.Logger
	nulls   operator.Counter
	expired operator.Counter
	warned  bool

	schema   [2]*arrow.Schema
	keys     [2]*winbuf.Keys
	tbl      *hashtable.Table
	residual expr.Evaluator
	bound    bool // keys, table and residual are ready

	// Right state, per group: the versions of the key in time order (ties
	// in arrival order), the processing time it was last used at, and
	// whether it is on the list of groups to clean.
	vers    [][]version
	used    []int64
	onDirty []bool
	dirty   []uint32
	right   store

	// Left rows waiting for the watermark.
	pend  []pending
	left  store
	seq   int64
	wm    int64
	sweep int64 // processing time of the next TTL sweep

	ss snapState // snapshot bookkeeping (snapshot.go)

	// Scratch.
	due    []pending
	lref   []ref
	rref   []ref
	flref  []ref
	frref  []ref
	idx    []int32
	group  []uint32
	hasKey []bool
}

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.TemporalJoin == nil {
		return nil, fmt.Errorf("temporaljoin: spec has no temporal_join part")
	}
	ts := spec.TemporalJoin
	fail := func(format string, args ...any) error {
		return fmt.Errorf("temporal_join %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	if len(ts.LeftKeys) == 0 || len(ts.LeftKeys) != len(ts.RightKeys) {
		return nil, fail("%d left keys and %d right keys: want the same number, at least one", len(ts.LeftKeys), len(ts.RightKeys))
	}
	if ts.LeftTime < 0 || ts.RightTime < 0 {
		return nil, fail("time columns %d and %d are invalid", ts.LeftTime, ts.RightTime)
	}
	if ts.TTLMs < 0 {
		return nil, fail("state TTL %d ms is negative", ts.TTLMs)
	}
	return &Operator{id: spec.ID, spec: ts, out: spec.Output.Arrow(), outT: spec.Output, width: [2]int{-1, -1}, wm: stream.MinWatermark}, nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc = oc
	if o.mem = oc.Alloc; o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	if o.log = oc.Logger; o.log == nil {
		o.log = slog.Default()
	}
	o.nulls, o.expired = nopCounter{}, nopCounter{}
	if oc.Metrics != nil {
		o.nulls = oc.Metrics.Counter(NullRowtimeMetric, "Rows dropped because their time attribute was NULL.")
		o.expired = oc.Metrics.Counter(StateExpiredMetric, "Versioned-table rows dropped because their key was idle longer than the state TTL.")
	}
	if o.spec.TTLMs > 0 && oc.Now == nil {
		return fmt.Errorf("temporal_join %s: a state TTL needs the operator context's processing-time clock", o.id)
	}
	return nil
}

// bindSide checks side s's first batch against the output schema.
func (o *Operator) bindSide(s int, sc *arrow.Schema) error {
	nf := sc.NumFields()
	if o.width[s] < 0 {
		o.width[s], o.width[1-s] = nf, o.out.NumFields()-nf
	}
	if nf != o.width[s] || o.width[1-s] < 1 {
		return fmt.Errorf("input has %d columns, which does not fit the %d output columns %s", nf, o.out.NumFields(), o.out)
	}
	off := 0
	if s == 1 {
		off = o.width[0]
	}
	for i := 0; i < nf; i++ {
		if t, want := sc.Field(i).Type, o.out.Field(off+i).Type; !arrow.TypeEqual(t, want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %d (%s) is %s", i, sc.Field(i).Name, t, off+i, o.out.Field(off+i).Name, want)
		}
	}
	tc, keys := o.spec.LeftTime, o.spec.LeftKeys
	if s == 1 {
		tc, keys = o.spec.RightTime, o.spec.RightKeys
	}
	if tc >= nf || sc.Field(tc).Type.ID() != arrow.TIMESTAMP {
		return fmt.Errorf("time column %d is not a TIMESTAMP(3) column of %s", tc, sc)
	}
	for _, k := range keys {
		if k < 0 || k >= nf {
			return fmt.Errorf("key column %d is out of range: input has %d columns", k, nf)
		}
	}
	o.schema[s] = sc
	return o.bindBoth()
}

// bindBoth prepares the keys, the table and the residual condition once
// the split of the output between the sides is known.
func (o *Operator) bindBoth() error {
	if o.bound {
		return nil
	}
	wl := o.width[0]
	var lf, rf []arrow.Field
	for i := 0; i < o.out.NumFields(); i++ {
		if i < wl {
			lf = append(lf, o.out.Field(i))
		} else {
			rf = append(rf, o.out.Field(i))
		}
	}
	ls, rs := arrow.NewSchema(lf, nil), arrow.NewSchema(rf, nil)
	for i := range o.spec.LeftKeys {
		lk, rk := o.spec.LeftKeys[i], o.spec.RightKeys[i]
		if lk >= ls.NumFields() || rk >= rs.NumFields() {
			return fmt.Errorf("join key %d: column out of range", i)
		}
		if lt, rt := ls.Field(lk).Type, rs.Field(rk).Type; !arrow.TypeEqual(lt, rt) {
			return fmt.Errorf("join key %d: left column %s is %s but right column %s is %s", i, ls.Field(lk).Name, lt, rs.Field(rk).Name, rt)
		}
	}
	var err error
	if o.keys[0], err = winbuf.NewKeys(ls, o.spec.LeftKeys); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	if o.keys[1], err = winbuf.NewKeys(rs, o.spec.RightKeys); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	o.tbl = o.keys[1].NewTable()
	if o.spec.Residual != nil {
		env := expr.Env{Functions: o.oc.Functions, Now: o.oc.Now}
		if o.residual, err = expr.CompileWith(o.spec.Residual, o.outT, env); err != nil {
			return fmt.Errorf("residual condition: %w", err)
		}
		if k := o.residual.Type().Kind; k != types.Boolean && k != types.Null {
			return fmt.Errorf("residual condition is %s, want BOOLEAN", o.residual.Type())
		}
	}
	o.bound = true
	return nil
}

// ProcessBatch implements operator.Operator: input 0 is the append-only
// left stream, input 1 the versioned table's changelog.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("temporal_join %s: input %d: the join has inputs 0 (left) and 1 (right)", o.id, input)
	}
	if b.NumRows() == 0 {
		return nil
	}
	if err := o.add(input, b); err != nil {
		return fmt.Errorf("temporal_join %s: %s input: %w", o.id, sideName[input], err)
	}
	return nil
}

func (o *Operator) add(s int, b stream.Batch) error {
	rec := b.Record
	if o.schema[s] == nil {
		if err := o.bindSide(s, rec.Schema()); err != nil {
			return err
		}
	} else if sc := rec.Schema(); sc != o.schema[s] && !sc.Equal(o.schema[s]) {
		return fmt.Errorf("input schema changed from %s to %s", o.schema[s], sc)
	}
	if b.Kinds != nil && len(b.Kinds) != b.NumRows() {
		return fmt.Errorf("batch of %d rows has %d row kinds", b.NumRows(), len(b.Kinds))
	}
	tcol := o.spec.LeftTime
	if s == 1 {
		tcol = o.spec.RightTime
	}
	tarr, ok := rec.Column(tcol).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("time column %d is %s, want TIMESTAMP(3)", tcol, rec.Column(tcol).DataType())
	}
	times := rowkey.TimestampValues(tarr)
	n := b.NumRows()
	k := o.keys[s]
	if err := k.Encode(rec); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	o.markKeys(rec, s, n)
	nulls := 0
	now := o.now()
	if s == 0 {
		for i, kind := range b.Kinds {
			if kind != stream.Insert {
				return fmt.Errorf("row %d is %s: the left input of a temporal join is append-only", i, kind)
			}
		}
		first := len(o.pend)
		for i := 0; i < n; i++ {
			if tarr.IsNull(i) {
				nulls++
				continue
			}
			g := int32(-1)
			if o.hasKey[i] {
				id, _, err := o.tbl.FindOrInsertOne(k.Hashes[i], k.Rows.Row(i))
				if err != nil {
					return err
				}
				o.ensure()
				g = int32(id)
				o.used[id] = now // a row that will need the key keeps it
				if o.spec.TTLMs > 0 && len(o.vers[id]) > 0 {
					o.ss.groups.Add(id)
				}
			} else if !o.spec.Left {
				continue // a NULL key never matches
			}
			o.seq++
			kg := int32(opsnap.KeyGroup(k.Hashes[i], o.oc.MaxParallelism))
			o.pend = append(o.pend, pending{Time: times[i], Seq: o.seq, Row: int32(i), Group: g, KG: kg})
		}
		if kept := len(o.pend) - first; kept > 0 {
			c := o.left.add(rec, kept)
			for j := first; j < len(o.pend); j++ {
				o.pend[j].Chunk = c
			}
		}
	} else {
		var c int32 = -1
		added := 0
		for i := 0; i < n; i++ {
			kind := b.Kind(i)
			if kind == stream.UpdateBefore || !o.hasKey[i] {
				continue // -U: the +U that follows sets the version
			}
			if tarr.IsNull(i) {
				nulls++
				continue
			}
			id, _, err := o.tbl.FindOrInsertOne(k.Hashes[i], k.Rows.Row(i))
			if err != nil {
				return err
			}
			o.ensure()
			v := version{Time: times[i], Chunk: -1, Row: -1}
			if kind != stream.Delete {
				if c < 0 {
					c = o.right.add(rec, 0)
				}
				v.Chunk, v.Row = c, int32(i)
				added++
			}
			o.insert(id, v)
			o.used[id] = now
		}
		if c >= 0 {
			o.right.ref(c, added)
		}
	}
	if nulls > 0 {
		o.nulls.Add(float64(nulls))
		if !o.warned {
			o.warned = true
			o.log.Warn("temporal_join: dropping rows whose time attribute is NULL", "operator", o.id, "side", sideName[s])
		}
	}
	return nil
}

func (o *Operator) now() int64 {
	if o.oc.Now == nil {
		return 0
	}
	return o.oc.Now()
}

// markKeys sets o.hasKey[i] for the rows of side s with no NULL key.
func (o *Operator) markKeys(rec arrow.RecordBatch, s, n int) {
	keys := o.spec.LeftKeys
	if s == 1 {
		keys = o.spec.RightKeys
	}
	o.hasKey = grow(o.hasKey, n)
	for i := range o.hasKey {
		o.hasKey[i] = true
	}
	for _, k := range keys {
		col := rec.Column(k)
		if col.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				o.hasKey[i] = false
			}
		}
	}
}

// ensure sizes the per-group state for every group of the table.
func (o *Operator) ensure() {
	for len(o.vers) < o.tbl.Len() {
		o.vers = append(o.vers, nil)
		o.used = append(o.used, 0)
		o.onDirty = append(o.onDirty, false)
	}
}

// insert adds v to group g's versions after every version not later than
// it (equal times: the later arrival wins), and marks g for cleaning.
func (o *Operator) insert(g uint32, v version) {
	vs := o.vers[g]
	i := len(vs)
	for i > 0 && vs[i-1].Time > v.Time {
		i--
	}
	vs = slices.Insert(vs, i, v)
	o.vers[g] = vs
	o.ss.groups.Add(g)
	if !o.onDirty[g] {
		o.onDirty[g] = true
		o.dirty = append(o.dirty, g)
	}
}

// validAt returns the version of group g valid at time t, if any.
func (o *Operator) validAt(g int32, t int64) (version, bool) {
	if g < 0 {
		return version{}, false
	}
	vs := o.vers[g]
	// The last version with Time <= t.
	i, _ := slices.BinarySearchFunc(vs, t+1, func(v version, t int64) int {
		if v.Time < t {
			return -1
		}
		return 1
	})
	if i == 0 || vs[i-1].Row < 0 {
		return version{}, false
	}
	return vs[i-1], true
}

// ProcessWatermark implements operator.Operator: it joins, in time order,
// the buffered left rows whose time the watermark has passed, then drops
// the versions no later left row can need.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	if err := o.fire(ctx, wm, out); err != nil {
		return fmt.Errorf("temporal_join %s: %w", o.id, err)
	}
	o.clean(wm)
	if ttl := o.spec.TTLMs; ttl > 0 {
		if now := o.now(); now >= o.sweep {
			o.expire(now, ttl)
			o.sweep = now + max(ttl/4, 1)
		}
	}
	if st := &o.right; st.rows > 2*st.nlive+compactRows {
		if err := o.compact(); err != nil {
			return fmt.Errorf("temporal_join %s: %w", o.id, err)
		}
	}
	return nil
}

// compactRows is how many more rows than twice the live versions the
// retained right chunks may hold before the live versions are copied into
// one chunk (tests lower it).
var compactRows = 4096

// compact copies the rows of every live version into one new chunk and
// releases the old chunks, which dead versions were keeping.
func (o *Operator) compact() error {
	st := &o.right
	refs := make([]ref, 0, st.nlive)
	for _, vs := range o.vers {
		for _, v := range vs {
			if v.Row >= 0 {
				refs = append(refs, ref{Chunk: v.Chunk, Row: v.Row})
			}
		}
	}
	w := o.width[1]
	cols := make([]arrow.Array, w)
	release := func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}
	for c := 0; c < w; c++ {
		a, idx, err := gather.Column(o.mem, o.out.Field(o.width[0]+c).Type, st.chunks, c, refs, o.idx)
		o.idx = idx
		if err != nil {
			release()
			return fmt.Errorf("compacting the versioned table: column %d: %w", c, err)
		}
		cols[c] = a
	}
	rec := array.NewRecordBatch(o.schema[1], cols, int64(len(refs)))
	release()
	st.release()
	if len(refs) > 0 {
		st.add(rec, len(refs))
	}
	rec.Release()
	i := int32(0)
	for _, vs := range o.vers {
		for j := range vs {
			if vs[j].Row >= 0 {
				vs[j].Chunk, vs[j].Row = 0, i
				i++
			}
		}
	}
	return nil
}

// fire joins and emits the due left rows.
func (o *Operator) fire(ctx context.Context, wm int64, out operator.Collector) error {
	o.due = o.due[:0]
	keep := o.pend[:0]
	for _, p := range o.pend {
		if p.Time <= wm {
			o.due = append(o.due, p)
		} else {
			keep = append(keep, p)
		}
	}
	o.pend = keep
	if len(o.due) == 0 {
		return nil
	}
	slices.SortFunc(o.due, func(a, b pending) int {
		if a.Time != b.Time {
			if a.Time < b.Time {
				return -1
			}
			return 1
		}
		if a.Seq < b.Seq {
			return -1
		}
		return 1
	})
	now := o.now()
	defer func() {
		for _, p := range o.due {
			o.left.unref(p.Chunk)
		}
	}()
	for i := range o.due {
		o.noteFired(&o.due[i])
	}
	for lo := 0; lo < len(o.due); lo += OutputBatchRows {
		part := o.due[lo:min(lo+OutputBatchRows, len(o.due))]
		o.lref, o.rref = o.lref[:0], o.rref[:0]
		for _, p := range part {
			v, ok := o.validAt(p.Group, p.Time)
			if p.Group >= 0 {
				o.used[p.Group] = now
				if o.spec.TTLMs > 0 && len(o.vers[p.Group]) > 0 {
					o.ss.groups.Add(uint32(p.Group))
				}
			}
			if !ok {
				if o.spec.Left {
					o.lref = append(o.lref, ref{Chunk: p.Chunk, Row: p.Row})
					o.rref = append(o.rref, nullRef)
				}
				continue
			}
			o.lref = append(o.lref, ref{Chunk: p.Chunk, Row: p.Row})
			o.rref = append(o.rref, ref{Chunk: v.Chunk, Row: v.Row})
		}
		if err := o.emit(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// emit applies the residual condition to the pairs (o.lref, o.rref) and
// sends the rows that pass (with Left, a failing row NULL-padded).
func (o *Operator) emit(ctx context.Context, out operator.Collector) error {
	if len(o.lref) == 0 {
		return nil
	}
	lrefs, rrefs := o.lref, o.rref
	if o.residual != nil {
		sel, err := o.evalResidual(ctx)
		if err != nil {
			return err
		}
		if !sel.All {
			o.flref, o.frref = o.flref[:0], o.frref[:0]
			si := 0
			for k := range lrefs {
				for si < len(sel.Indices) && int(sel.Indices[si]) < k {
					si++
				}
				pass := si < len(sel.Indices) && int(sel.Indices[si]) == k
				switch {
				case pass || rrefs[k].Chunk < 0:
					o.flref, o.frref = append(o.flref, lrefs[k]), append(o.frref, rrefs[k])
				case o.spec.Left:
					o.flref, o.frref = append(o.flref, lrefs[k]), append(o.frref, nullRef)
				}
			}
			lrefs, rrefs = o.flref, o.frref
		}
	}
	if len(lrefs) == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, o.out.NumFields())
	release := func() {
		for _, a := range cols {
			a.Release()
		}
	}
	for s, refs := range [][]ref{lrefs, rrefs} {
		st, off := &o.left, 0
		if s == 1 {
			st, off = &o.right, o.width[0]
		}
		for c := 0; c < o.width[s]; c++ {
			a, idx, err := gather.Column(o.mem, o.out.Field(off+c).Type, st.chunks, c, refs, o.idx)
			o.idx = idx
			if err != nil {
				release()
				return fmt.Errorf("%s column %d: %w", sideName[s], c, err)
			}
			cols = append(cols, a)
		}
	}
	rec := array.NewRecordBatch(o.out, cols, int64(len(lrefs)))
	release()
	return out.Emit(ctx, stream.Batch{Record: rec})
}

// evalResidual evaluates the residual condition over the pairs.
func (o *Operator) evalResidual(ctx context.Context) (expr.Selection, error) {
	cols := make([]arrow.Array, o.out.NumFields())
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for _, ci := range o.residual.Columns() {
		var err error
		if ci < o.width[0] {
			cols[ci], o.idx, err = gather.Column(o.mem, o.out.Field(ci).Type, o.left.chunks, ci, o.lref, o.idx)
		} else {
			cols[ci], o.idx, err = gather.Column(o.mem, o.out.Field(ci).Type, o.right.chunks, ci-o.width[0], o.rref, o.idx)
		}
		if err != nil {
			return expr.Selection{}, fmt.Errorf("residual condition: column %d: %w", ci, err)
		}
	}
	sel, err := expr.SelectColumns(ctx, o.residual, cols, len(o.lref), o.mem)
	if err != nil {
		return sel, fmt.Errorf("residual condition: %w", err)
	}
	return sel, nil
}

// clean drops, in the groups that changed, the versions that no buffered
// or future left row can need: every left row still to come has a time
// after wm, so of the versions at or before wm only the last one matters,
// and not even that one if it is a deletion.
func (o *Operator) clean(wm int64) {
	keep := o.dirty[:0]
	for _, g := range o.dirty {
		vs := o.vers[g]
		i := 0 // versions [0, i) are at or before wm
		for i < len(vs) && vs[i].Time <= wm {
			i++
		}
		drop := i - 1
		if i > 0 && vs[i-1].Row < 0 {
			drop = i
		}
		if drop > 0 {
			o.ss.groups.Add(g)
			o.release(vs[:drop])
			vs = slices.Delete(vs, 0, drop)
			o.vers[g] = vs
		}
		if len(vs) > 0 && vs[len(vs)-1].Time > wm {
			keep = append(keep, g)
		} else {
			o.onDirty[g] = false
		}
	}
	o.dirty = keep
}

// release drops the references of versions.
func (o *Operator) release(vs []version) {
	for _, v := range vs {
		if v.Row >= 0 {
			o.right.unref(v.Chunk)
		}
	}
}

// expire drops the versions of keys not used for ttl ms of processing
// time, counting them.
func (o *Operator) expire(now, ttl int64) {
	n := 0
	for g, vs := range o.vers {
		if len(vs) > 0 && o.used[g]+ttl <= now {
			o.ss.groups.Add(uint32(g))
			o.release(vs)
			n += len(vs)
			o.vers[g] = vs[:0]
		}
	}
	if n > 0 {
		o.expired.Add(float64(n))
	}
}

// Close implements operator.Operator: it releases every buffered row.
func (o *Operator) Close(ctx context.Context) error {
	o.left.release()
	o.right.release()
	o.pend, o.vers = nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}
