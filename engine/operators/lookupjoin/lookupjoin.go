package lookupjoin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/gather"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// OutputBatchRows is the largest batch the operator emits (a single input
// row with more matches makes a larger one).
const OutputBatchRows = winbuf.OutputBatchRows

// LoadBatchRows is the batch size the operator reads a whole dimension
// table with.
const LoadBatchRows = 4096

// Metric names.
const (
	// LookupsMetric counts calls of the connector's Lookuper (one per input
	// batch with keys missing from the cache).
	LookupsMetric = "lookups"
	// CacheHitsMetric counts input rows whose key was served from the
	// cache; CacheMissesMetric those whose key had to be looked up.
	CacheHitsMetric   = "lookup_cache_hits"
	CacheMissesMetric = "lookup_cache_misses"
	// ReloadsMetric counts loads of a whole dimension table (the first
	// one included).
	ReloadsMetric = "lookup_reloads"
)

// Operator is the lookup join. See the package comment.
type Operator struct {
	id   string
	spec *jobgraph.LookupJoinSpec
	out  *arrow.Schema
	outT types.Schema
	dim  *arrow.Schema
	inW  int // input columns
	dimW int // dimension columns

	oc   *operator.Context
	mem  memory.Allocator
	log  *slog.Logger
	now  func() int64
	info connectors.TableInfo

	lookuper connectors.Lookuper      // the table serves lookups, or
	source   connectors.SourceFactory // it is read whole, anew at each load
	loadedAt int64                    // processing time of the last load
	loaded   bool                     // the whole table is in the cache
	keySch   *arrow.Schema            // the schema of the key batches looked up
	residual expr.Evaluator           // nil without a residual condition
	input    *arrow.Schema            // the first batch's schema
	cache    *cache                   // bound by the first batch (or the load)
	dimKeys  *winbuf.Keys             // the dimension table's key columns (whole-table loads)
	metrics  [4]operator.Counter      // lookups, hits, misses, reloads
	pending  []bool                   // per group: being looked up in this batch
	missRows []int32                  // first input row of each missing key
	missG    []uint32                 // group of each missing key
	group    []uint32                 // per input row: its key's group
	valid    []bool                   // per input row: key has no NULL
	li       []int32                  // pairs: input row
	rf       []ref                    // pairs: dimension row
	fli      []int32                  // final pairs
	frf      []ref                    //
	idx      []int32                  // scratch
	keyCols  []arrow.Array            // scratch
	cnt      []int32                  // scratch: rows per missing key
	tmpRefs  []ref                    // scratch
}

// New builds the operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.LookupJoin == nil {
		return nil, fmt.Errorf("lookupjoin: spec has no lookup_join part")
	}
	ls := spec.LookupJoin
	fail := func(format string, args ...any) error {
		return fmt.Errorf("lookup_join %s: %s", spec.ID, fmt.Sprintf(format, args...))
	}
	dimW := ls.Dim.Schema.Len()
	if dimW == 0 {
		return nil, fail("dimension table '%s' has no columns", ls.Dim.Table)
	}
	inW := spec.Output.Len() - dimW
	if inW < 1 {
		return nil, fail("output has %d columns, fewer than the dimension table's %d plus an input column", spec.Output.Len(), dimW)
	}
	if len(ls.Keys) == 0 || len(ls.Keys) != len(ls.DimKeys) {
		return nil, fail("%d input keys and %d dimension keys: want the same number, at least one", len(ls.Keys), len(ls.DimKeys))
	}
	for i, k := range ls.Keys {
		if k < 0 || k >= inW {
			return nil, fail("key %d: input column %d is out of range (%d input columns)", i, k, inW)
		}
		d := ls.DimKeys[i]
		if d < 0 || d >= dimW {
			return nil, fail("key %d: dimension column %d is out of range (table '%s' has %d columns)", i, d, ls.Dim.Table, dimW)
		}
		in, dt := spec.Output.Fields[k].Type, ls.Dim.Schema.Fields[d].Type
		if !arrow.TypeEqual(in.Arrow(), dt.Arrow()) {
			return nil, fail("key %d: input column %s is %s but dimension column %s is %s", i, spec.Output.Fields[k].Name, in, ls.Dim.Schema.Fields[d].Name, dt)
		}
	}
	for i := range ls.Dim.Schema.Fields {
		if o, d := spec.Output.Fields[inW+i].Type.Arrow(), ls.Dim.Schema.Fields[i].Type.Arrow(); !arrow.TypeEqual(o, d) {
			return nil, fail("output column %d (%s) is %s but dimension column %s is %s", inW+i, spec.Output.Fields[inW+i].Name, o, ls.Dim.Schema.Fields[i].Name, d)
		}
	}
	if ls.CacheTTLMs < 0 || ls.CacheMaxRows < 0 {
		return nil, fail("cache TTL %d ms and cache size %d must not be negative", ls.CacheTTLMs, ls.CacheMaxRows)
	}
	keyFields := make([]arrow.Field, len(ls.DimKeys))
	for i, d := range ls.DimKeys {
		f := ls.Dim.Schema.Fields[d]
		keyFields[i] = arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: !f.Type.NotNull}
	}
	return &Operator{
		id: spec.ID, spec: ls, out: spec.Output.Arrow(), outT: spec.Output, dim: ls.Dim.Schema.Arrow(),
		inW: inW, dimW: dimW, keySch: arrow.NewSchema(keyFields, nil),
	}, nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

// Open implements operator.Operator: it opens the dimension table, through
// its connector's Lookuper or, for a bounded source, by reading it whole.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	o.oc = oc
	if o.mem = oc.Alloc; o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	if o.log = oc.Logger; o.log == nil {
		o.log = slog.Default()
	}
	if o.now = oc.Now; o.now == nil {
		return fmt.Errorf("lookup_join %s: the operator context has no processing-time clock", o.id)
	}
	names := [4][2]string{
		{LookupsMetric, "Lookup calls to the dimension table's connector."},
		{CacheHitsMetric, "Input rows whose key the lookup cache held."},
		{CacheMissesMetric, "Input rows whose key had to be looked up."},
		{ReloadsMetric, "Loads of the whole dimension table."},
	}
	for i, n := range names {
		o.metrics[i] = nopCounter{}
		if oc.Metrics != nil {
			o.metrics[i] = oc.Metrics.Counter(n[0], n[1])
		}
	}
	d := o.spec.Dim
	fail := func(format string, args ...any) error {
		return fmt.Errorf("lookup_join %s: dimension table '%s' (connector '%s'): %s", o.id, d.Table, d.Connector, fmt.Sprintf(format, args...))
	}
	if oc.Connector == nil {
		return fail("the job has no connector registry")
	}
	f, ok := oc.Connector(d.Connector)
	if !ok {
		return fail("no such connector")
	}
	o.info = connectors.TableInfo{Name: d.Table, Schema: d.Schema, Options: d.Options, PrimaryKey: d.PrimaryKey}
	rc := o.readerContext()
	if lf, ok := f.(connectors.LookupSourceFactory); ok {
		lk, err := lf.NewLookup(ctx, o.info, o.spec.DimKeys, rc)
		if err != nil {
			return fail("opening lookups: %v", err)
		}
		o.lookuper = lk
		return nil
	}
	sf, ok := f.(connectors.SourceFactory)
	if !ok {
		return fail("the connector neither serves lookups nor reads tables")
	}
	if cs, ok := f.(connectors.ChangelogSource); ok {
		if m := cs.SourceChangelog(o.info); m != "" && m != "append" {
			return fail("the table is a %s changelog; a lookup join reads a dimension table of inserts only", m)
		}
	}
	src, err := sf.NewSource(o.info)
	if err != nil {
		return fail("%v", err)
	}
	if !src.Bounded() {
		return fail("the table is unbounded and its connector does not serve lookups, so it cannot be a lookup join's dimension table")
	}
	o.source = sf
	return nil
}

func (o *Operator) readerContext() connectors.ReaderContext {
	return connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: LoadBatchRows, Alloc: o.mem, Logger: o.log, Metrics: o.oc.Metrics}
}

// bind checks the first input batch's schema and prepares the keys, the
// cache and the residual condition.
func (o *Operator) bind(sc *arrow.Schema) error {
	if sc.NumFields() != o.inW {
		return fmt.Errorf("input has %d columns, want %d (the output's %d minus the dimension table's %d)", sc.NumFields(), o.inW, o.out.NumFields(), o.dimW)
	}
	for i := 0; i < o.inW; i++ {
		if t, want := sc.Field(i).Type, o.out.Field(i).Type; !arrow.TypeEqual(t, want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %d is %s", i, sc.Field(i).Name, t, i, want)
		}
	}
	keys, err := winbuf.NewKeys(sc, o.spec.Keys)
	if err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	o.cache = newCache(keys)
	if o.spec.Residual != nil {
		env := expr.Env{Functions: o.oc.Functions, Now: o.oc.Now}
		if o.residual, err = expr.CompileWith(o.spec.Residual, o.outT, env); err != nil {
			return fmt.Errorf("residual condition: %w", err)
		}
		if k := o.residual.Type().Kind; k != types.Boolean && k != types.Null {
			return fmt.Errorf("residual condition is %s, want BOOLEAN", o.residual.Type())
		}
	}
	if o.source != nil {
		if o.dimKeys, err = winbuf.NewKeys(o.dim, o.spec.DimKeys); err != nil {
			return fmt.Errorf("dimension keys: %w", err)
		}
	}
	o.input = sc
	return nil
}

// ProcessBatch implements operator.Operator: it joins every row of b with
// the dimension rows of its key, and emits the rows with b's row kinds.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if input != 0 {
		return fmt.Errorf("lookup_join %s: input %d: the operator has one input", o.id, input)
	}
	if b.NumRows() == 0 {
		return nil
	}
	if err := o.process(ctx, b, out); err != nil {
		return fmt.Errorf("lookup_join %s: %w", o.id, err)
	}
	return nil
}

func (o *Operator) process(ctx context.Context, b stream.Batch, out operator.Collector) error {
	rec := b.Record
	if o.input == nil {
		if err := o.bind(rec.Schema()); err != nil {
			return err
		}
	} else if s := rec.Schema(); s != o.input && !s.Equal(o.input) {
		return fmt.Errorf("input schema changed from %s to %s", o.input, s)
	}
	if b.Kinds != nil && len(b.Kinds) != b.NumRows() {
		return fmt.Errorf("batch of %d rows has %d row kinds", b.NumRows(), len(b.Kinds))
	}
	now := o.now()
	c := o.cache
	if o.source != nil {
		if err := o.loadIfDue(ctx, now); err != nil {
			return err
		}
	} else {
		c.evict(now, 0) // expired entries are looked up again
	}
	n := b.NumRows()
	if err := c.keys.Encode(rec); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	o.markValid(rec, n)
	o.group = grow(o.group, n)
	hits, misses := 0, 0
	o.missRows, o.missG = o.missRows[:0], o.missG[:0]
	for i := 0; i < n; i++ {
		if !o.valid[i] {
			continue
		}
		h, key := c.keys.Hashes[i], c.keys.Rows.Row(i)
		g, ok := c.tbl.Find(h, key)
		if ok && g < uint32(len(c.cached)) && c.cached[g] {
			o.group[i] = g
			hits++
			continue
		}
		if o.source != nil { // the whole table is loaded: no such key
			o.valid[i] = false
			continue
		}
		misses++
		if !ok {
			var err error
			if g, _, err = c.tbl.FindOrInsertOne(h, key); err != nil {
				return err
			}
			c.ensure()
		}
		o.group[i] = g
		for len(o.pending) <= int(g) {
			o.pending = append(o.pending, false)
		}
		if !o.pending[g] {
			o.pending[g] = true
			o.missRows = append(o.missRows, int32(i))
			o.missG = append(o.missG, g)
		}
	}
	if o.source == nil {
		o.metrics[1].Add(float64(hits))
		o.metrics[2].Add(float64(misses))
	}
	if len(o.missRows) > 0 {
		if err := o.lookup(ctx, rec, now); err != nil {
			return err
		}
	}
	if err := o.join(ctx, b, out); err != nil {
		return err
	}
	if o.source == nil && o.spec.CacheMaxRows > 0 {
		c.evict(now, o.spec.CacheMaxRows)
	}
	return nil
}

// markValid sets o.valid[i] for the rows whose keys hold no NULL.
func (o *Operator) markValid(rec arrow.RecordBatch, n int) {
	o.valid = grow(o.valid, n)
	for i := range o.valid {
		o.valid[i] = true
	}
	for _, k := range o.spec.Keys {
		col := rec.Column(k)
		if col.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				o.valid[i] = false
			}
		}
	}
}

// lookup asks the connector for the keys missing from the cache, in one
// call, and caches what it returns (no rows, too).
func (o *Operator) lookup(ctx context.Context, rec arrow.RecordBatch, now int64) error {
	c := o.cache
	defer func() { // also after a failed lookup
		for _, g := range o.missG {
			o.pending[g] = false
		}
	}()
	o.keyCols = o.keyCols[:0]
	defer func() {
		for _, a := range o.keyCols {
			a.Release()
		}
		o.keyCols = o.keyCols[:0]
	}()
	for _, k := range o.spec.Keys {
		a, err := expr.Take(rec.Column(k), o.missRows, o.mem)
		if err != nil {
			return fmt.Errorf("lookup keys: %w", err)
		}
		o.keyCols = append(o.keyCols, a)
	}
	keys := array.NewRecordBatch(o.keySch, o.keyCols, int64(len(o.missRows)))
	defer keys.Release()
	o.metrics[0].Add(1)
	rows, keyRow, err := o.lookuper.Lookup(ctx, keys)
	if err != nil {
		return fmt.Errorf("dimension table '%s': lookup of %d keys: %w", o.spec.Dim.Table, len(o.missRows), err)
	}
	if rows != nil {
		defer rows.Release()
	}
	nr := 0
	if rows != nil {
		nr = int(rows.NumRows())
		if err := o.checkDim(rows.Schema()); err != nil {
			return fmt.Errorf("dimension table '%s': lookup returned %w", o.spec.Dim.Table, err)
		}
	}
	if len(keyRow) != nr {
		return fmt.Errorf("dimension table '%s': lookup returned %d rows but %d key indexes", o.spec.Dim.Table, nr, len(keyRow))
	}
	// Group the returned rows by key, keeping their order.
	m := len(o.missRows)
	o.cnt = grow(o.cnt, m+1)
	clear(o.cnt)
	for _, k := range keyRow {
		if k < 0 || int(k) >= m {
			return fmt.Errorf("dimension table '%s': lookup returned key index %d for %d keys", o.spec.Dim.Table, k, m)
		}
		o.cnt[k+1]++
	}
	for j := 1; j <= m; j++ {
		o.cnt[j] += o.cnt[j-1]
	}
	o.tmpRefs = grow(o.tmpRefs, nr)
	var chunk int32 = -1
	if nr > 0 {
		chunk = c.addChunk(rows, nr)
	}
	pos := o.cnt[:m] // pos[j]: next slot of key j
	for r, k := range keyRow {
		o.tmpRefs[pos[k]] = ref{Chunk: chunk, Row: int32(r)}
		pos[k]++
	}
	// pos[j] is now the end of key j's run; its start is pos[j-1] (0).
	exp := int64(math.MaxInt64)
	if ttl := o.spec.CacheTTLMs; ttl > 0 {
		exp = now + ttl
	}
	lo := int32(0)
	for j, g := range o.missG {
		hi := pos[j]
		c.set(g, o.tmpRefs[lo:hi], exp)
		lo = hi
	}
	return nil
}

// checkDim checks that a batch of dimension rows has the table's columns.
func (o *Operator) checkDim(s *arrow.Schema) error {
	if s.NumFields() != o.dimW {
		return fmt.Errorf("rows of %d columns, the table has %d", s.NumFields(), o.dimW)
	}
	for i := 0; i < o.dimW; i++ {
		if t, want := s.Field(i).Type, o.dim.Field(i).Type; !arrow.TypeEqual(t, want) {
			return fmt.Errorf("column %d (%s) as %s, the table declares %s", i, o.dim.Field(i).Name, t, want)
		}
	}
	return nil
}

// loadIfDue reads the whole dimension table on first use and again once
// CacheTTLMs has passed since the last load.
func (o *Operator) loadIfDue(ctx context.Context, now int64) error {
	if o.loaded && (o.spec.CacheTTLMs <= 0 || now < o.loadedAt+o.spec.CacheTTLMs) {
		return nil
	}
	if err := o.load(ctx); err != nil {
		return fmt.Errorf("dimension table '%s': %w", o.spec.Dim.Table, err)
	}
	o.loadedAt = now
	o.metrics[3].Add(1)
	return nil
}

// load replaces the cache's contents with every row of the table, grouped
// by key (rows with a NULL key never match and are left out).
func (o *Operator) load(ctx context.Context) error {
	c := o.cache
	c.clear()
	o.loaded = false
	src, err := o.source.NewSource(o.info) // a new source sees the table as it is now
	if err != nil {
		return err
	}
	rd, err := src.Reader(ctx, o.readerContext())
	if err != nil {
		return err
	}
	defer rd.Close()
	var chunks []arrow.RecordBatch
	defer func() {
		for _, ch := range chunks {
			ch.Release()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		chunks = append(chunks, rec)
		if err := o.checkDim(rec.Schema()); err != nil {
			return fmt.Errorf("reader returned %w", err)
		}
	}
	// Group ids per row, then the rows of each group in order.
	type rowGroup struct {
		chunk, row int32
		g          uint32
	}
	var all []rowGroup
	for ci, ch := range chunks {
		if err := o.dimKeys.Encode(ch); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		n := int(ch.NumRows())
		o.markDimValid(ch, n)
		for r := 0; r < n; r++ {
			if !o.valid[r] {
				continue
			}
			g, _, err := c.tbl.FindOrInsertOne(o.dimKeys.Hashes[r], o.dimKeys.Rows.Row(r))
			if err != nil {
				return err
			}
			all = append(all, rowGroup{int32(ci), int32(r), g})
		}
	}
	c.ensure()
	ng := c.tbl.Len()
	start := make([]int32, ng+1)
	for _, rg := range all {
		start[rg.g+1]++
	}
	for g := 1; g <= ng; g++ {
		start[g] += start[g-1]
	}
	refs := make([]ref, len(all))
	pos := append([]int32(nil), start[:ng]...)
	live := make([]int, len(chunks))
	for _, rg := range all {
		refs[pos[rg.g]] = ref{Chunk: rg.chunk, Row: rg.row}
		pos[rg.g]++
		live[rg.chunk]++
	}
	for ci, ch := range chunks {
		c.chunks, c.live = append(c.chunks, nil), append(c.live, live[ci])
		if live[ci] > 0 {
			ch.Retain()
			c.chunks[ci] = ch
		}
	}
	for g := 0; g < ng; g++ {
		c.set(uint32(g), refs[start[g]:start[g+1]], math.MaxInt64)
	}
	c.queue, c.head = c.queue[:0], 0 // the table is kept whole until the next load
	o.loaded = true
	return nil
}

func (o *Operator) markDimValid(rec arrow.RecordBatch, n int) {
	o.valid = grow(o.valid, n)
	for i := range o.valid {
		o.valid[i] = true
	}
	for _, k := range o.spec.DimKeys {
		col := rec.Column(k)
		if col.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				o.valid[i] = false
			}
		}
	}
}

// join emits the rows of b joined with their keys' cached rows, in input
// order, at most about OutputBatchRows per batch.
func (o *Operator) join(ctx context.Context, b stream.Batch, out operator.Collector) error {
	c := o.cache
	n := b.NumRows()
	o.li, o.rf = o.li[:0], o.rf[:0]
	for i := 0; i < n; i++ {
		before := len(o.li)
		if o.valid[i] {
			for _, r := range c.rows(o.group[i]) {
				o.li = append(o.li, int32(i))
				o.rf = append(o.rf, r)
			}
		}
		if len(o.li) == before && o.spec.Left {
			o.li = append(o.li, int32(i))
			o.rf = append(o.rf, nullRef)
		}
		if len(o.li) >= OutputBatchRows {
			if err := o.flush(ctx, b, out); err != nil {
				return err
			}
		}
	}
	return o.flush(ctx, b, out)
}

// flush applies the residual condition to the pairs (o.li, o.rf), which
// hold whole runs of input rows, and emits those that pass; with Left, a
// row none of whose pairs passes is emitted once, NULL-padded.
func (o *Operator) flush(ctx context.Context, b stream.Batch, out operator.Collector) error {
	if len(o.li) == 0 {
		return nil
	}
	defer func() { o.li, o.rf = o.li[:0], o.rf[:0] }()
	li, rf := o.li, o.rf
	if o.residual != nil {
		sel, err := o.evalResidual(ctx, b.Record)
		if err != nil {
			return err
		}
		o.fli, o.frf = o.fli[:0], o.frf[:0]
		si := 0
		for k := 0; k < len(li); {
			row := li[k]
			matched := false
			for ; k < len(li) && li[k] == row; k++ {
				pass := sel.All
				if !pass {
					for si < len(sel.Indices) && int(sel.Indices[si]) < k {
						si++
					}
					pass = si < len(sel.Indices) && int(sel.Indices[si]) == k
				}
				if pass && rf[k].Chunk >= 0 {
					o.fli, o.frf = append(o.fli, row), append(o.frf, rf[k])
					matched = true
				}
			}
			if !matched && o.spec.Left {
				o.fli, o.frf = append(o.fli, row), append(o.frf, nullRef)
			}
		}
		li, rf = o.fli, o.frf
	}
	if len(li) == 0 {
		return nil
	}
	return o.emit(ctx, b, li, rf, out)
}

// evalResidual evaluates the residual condition over the pairs.
func (o *Operator) evalResidual(ctx context.Context, rec arrow.RecordBatch) (expr.Selection, error) {
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
		if ci < o.inW {
			cols[ci], err = expr.Take(rec.Column(ci), o.li, o.mem)
		} else {
			cols[ci], o.idx, err = gather.Column(o.mem, o.out.Field(ci).Type, o.cache.chunks, ci-o.inW, o.rf, o.idx)
		}
		if err != nil {
			return expr.Selection{}, fmt.Errorf("residual condition: column %d: %w", ci, err)
		}
	}
	sel, err := expr.SelectColumns(ctx, o.residual, cols, len(o.li), o.mem)
	if err != nil {
		return sel, fmt.Errorf("residual condition: %w", err)
	}
	return sel, nil
}

// emit sends the rows (input row li[k], dimension row rf[k]).
func (o *Operator) emit(ctx context.Context, b stream.Batch, li []int32, rf []ref, out operator.Collector) error {
	cols := make([]arrow.Array, 0, o.out.NumFields())
	release := func() {
		for _, a := range cols {
			a.Release()
		}
	}
	for c := 0; c < o.inW; c++ {
		a, err := expr.Take(b.Record.Column(c), li, o.mem)
		if err != nil {
			release()
			return fmt.Errorf("input column %d: %w", c, err)
		}
		cols = append(cols, a)
	}
	for c := 0; c < o.dimW; c++ {
		a, idx, err := gather.Column(o.mem, o.out.Field(o.inW+c).Type, o.cache.chunks, c, rf, o.idx)
		o.idx = idx
		if err != nil {
			release()
			return fmt.Errorf("dimension column %d: %w", c, err)
		}
		cols = append(cols, a)
	}
	rec := array.NewRecordBatch(o.out, cols, int64(len(li)))
	release()
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = make([]stream.RowKind, len(li))
		for k, i := range li {
			kinds[k] = b.Kinds[i]
		}
	}
	return out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds})
}

// ProcessWatermark implements operator.Operator: the join holds no rows,
// so watermarks pass through.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// Close implements operator.Operator: it releases the cache and closes the
// Lookuper.
func (o *Operator) Close(ctx context.Context) error {
	if o.cache != nil {
		o.cache.clear()
	}
	if o.lookuper != nil {
		err := o.lookuper.Close()
		o.lookuper = nil
		if err != nil {
			return fmt.Errorf("lookup_join %s: closing the lookups of '%s': %w", o.id, o.spec.Dim.Table, err)
		}
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}
