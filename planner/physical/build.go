package physical

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Options configures Build.
type Options struct {
	// Parallelism is the job parallelism (at least 1).
	Parallelism int
	// Registry, when set, is asked which connectors can read a table
	// column-pruned (connectors.ProjectableSource): their sources then read
	// only the columns the job uses (SourceSpec.Projection).
	Registry *connectors.Registry
}

// Build plans every sink of s. s should be checked (lcheck) and optimized
// first. Errors about SQL constructs are *planerr.Error at the logical
// node they concern.
//
// With a Registry, planning runs twice: the first pass records which
// columns of each source its consumers read, the second prunes the sources
// that can be read column-pruned to those columns.
func Build(s *logical.Script, opts Options) (*Plan, error) {
	if opts.Parallelism < 1 {
		return nil, fmt.Errorf("planner: parallelism %d < 1", opts.Parallelism)
	}
	jo, err := readOptions(s.Config)
	if err != nil {
		return nil, err
	}
	var proj map[string][]int
	if opts.Registry != nil {
		first := newBuilder(opts, jo, nil)
		if _, err := first.plan(s); err != nil {
			return nil, err
		}
		proj = first.projections(opts.Registry)
	}
	b := newBuilder(opts, jo, proj)
	plan, err := b.plan(s)
	if err != nil {
		return nil, err
	}
	if err := b.changelog(plan); err != nil {
		return nil, err
	}
	if err := check(plan); err != nil {
		return nil, err
	}
	return plan, nil
}

type builder struct {
	p       int
	sources map[string]*Node
	// needs records, per source key, the table columns its scans' consumers
	// read (first pass); proj lists, per source key, the columns a pruned
	// source reads (second pass).
	needs map[string][]bool
	refs  map[string]*logical.Scan
	proj  map[string][]int
	// opts are the job options planning reads; reg the connectors.
	opts jobOptions
	reg  *connectors.Registry
	// upd memoizes updating.
	upd map[*Node]bool
}

func newBuilder(opts Options, jo jobOptions, proj map[string][]int) *builder {
	return &builder{p: opts.Parallelism, sources: map[string]*Node{}, needs: map[string][]bool{}, refs: map[string]*logical.Scan{}, proj: proj,
		opts: jo, reg: opts.Registry, upd: map[*Node]bool{}}
}

// plan plans every sink of s.
func (b *builder) plan(s *logical.Script) (*Plan, error) {
	plan := &Plan{Parallelism: b.p}
	for _, sink := range s.Sinks {
		n, err := b.sink(sink)
		if err != nil {
			return nil, err
		}
		plan.Sinks = append(plan.Sinks, n)
	}
	plan.number()
	return plan, nil
}

// rel is a stream in the making: the rows of in, filtered by filter, with
// logical column i computed by cols[i] over in's columns. cols[i] is nil
// when nobody needs column i. Above a pending window TVF (tvf set), window
// columns are placeholders (see placeholder), win is the TVF's window
// (ProcTime set for a processing-time attribute), time is the TVF's time
// column and part its SESSION partition keys, over in's columns, and
// guarded says whether filter already drops the rows whose time is NULL
// (see guarded).
type rel struct {
	in      *Node
	filter  *expr.Expr
	cols    []*expr.Expr
	names   []string
	tvf     *logical.WindowTVF
	win     jobgraph.WindowSpec
	time    *expr.Expr
	part    []*expr.Expr
	guarded bool
}

// Placeholders for the window columns of a pending window TVF: column
// references with negative indices, which no real column has.
const (
	phStart = -1 - iota
	phEnd
	phTime
)

// pruned is the column a scan's column reads when the source does not
// read it (projection pushdown): a negative index no operator accepts, so
// that reading it is caught (check) rather than reading another column.
const pruned = -100

// isPlaceholder reports whether column index c is a window placeholder.
func isPlaceholder(c int) bool { return c < 0 && c >= phTime }

func placeholder(role int) *expr.Expr {
	t := types.TimestampType
	t.NotNull = true
	if role == phTime {
		t.RowTime = true
	}
	return expr.Col(role, t)
}

// placeholderIn returns the name of the first window column e reads, or "".
func placeholderIn(e *expr.Expr) string {
	name := ""
	exprutil.Any(e, func(x *expr.Expr) bool {
		if x.Kind == expr.KindColumn && isPlaceholder(x.Column) {
			name = logical.WindowColumns[-1-x.Column]
			return true
		}
		return false
	})
	return name
}

func all(n int) []bool {
	need := make([]bool, n)
	for i := range need {
		need[i] = true
	}
	return need
}

// union returns need (nil meaning every column) widened to n columns plus
// the columns es read.
func union(need []bool, n int, es ...*expr.Expr) []bool {
	if need == nil {
		return all(n)
	}
	out := make([]bool, n)
	copy(out, need)
	for _, e := range es {
		exprutil.AddRefs(out, e)
	}
	return out
}

func indicesOf(need []bool) []int {
	var out []int
	for i, ok := range need {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// build plans n; need says which of n's output columns the consumer reads.
func (b *builder) build(n logical.Node, need []bool) (*rel, error) {
	switch n := n.(type) {
	case *logical.Scan:
		return b.scan(n, need), nil
	case *logical.Filter:
		if o, ok := n.Input.(*logical.Over); ok {
			return b.topN(n, o, need)
		}
		return b.filter(n, need)
	case *logical.Project:
		return b.project(n, need)
	case *logical.WindowTVF:
		return b.windowTVF(n, need)
	case *logical.Aggregate:
		return b.aggregate(n, need)
	case *logical.Over:
		return nil, overError(n)
	case *logical.Sink:
		return nil, planerr.At(n.At, "INSERT INTO %s cannot be used as a query", n.Table.Table)
	case *logical.Union:
		return b.union(n, need)
	case *logical.Join:
		return b.join(n, need)
	case *logical.Correlate:
		return b.correlate(n, need)
	case *logical.WatermarkAssigner:
		return b.watermarkAssigner(n, need)
	}
	return nil, fmt.Errorf("planner: unknown logical node %T", n)
}

// scan plans s; need says which of the table's columns the consumer reads
// (nil: all), which the first pass records for projection pushdown.
func (b *builder) scan(s *logical.Scan, need []bool) *rel {
	key := sourceKey(s)
	table := s.Schema()
	acc := b.needs[key]
	if acc == nil {
		acc = make([]bool, table.Len())
		b.needs[key], b.refs[key] = acc, s
	}
	for i := range acc {
		acc[i] = acc[i] || need == nil || (i < len(need) && need[i])
	}
	src := b.source(s, key)
	r := &rel{in: src, cols: make([]*expr.Expr, table.Len()), names: make([]string, table.Len())}
	pos := make([]int, table.Len())
	for i := range pos {
		pos[i] = i
	}
	if cols := src.Op.Source.Projection; cols != nil {
		for i := range pos {
			pos[i] = pruned
		}
		for j, c := range cols {
			pos[c] = j
		}
	}
	for i, f := range table.Fields {
		r.cols[i] = expr.Col(pos[i], f.Type)
		r.names[i] = f.Name
	}
	return r
}

// sourceKey identifies the source a scan reads: scans of the same table
// with the same watermark share one.
func sourceKey(s *logical.Scan) string {
	key, err := json.Marshal(struct {
		Table     string
		Ref       jobgraph.TableRef
		Watermark *jobgraph.WatermarkSpec
	}{strings.ToLower(s.Table.Table), s.Table, s.Watermark})
	if err != nil {
		return fmt.Sprintf("%p", s)
	}
	return string(key)
}

// source returns the source operator reading s's table, shared by every
// scan of the same table with the same watermark, pruned to the columns
// b.proj lists for it.
func (b *builder) source(s *logical.Scan, key string) *Node {
	if n, ok := b.sources[key]; ok {
		return n
	}
	spec := &jobgraph.SourceSpec{TableRef: s.Table, DeadLetter: s.DeadLetter}
	if s.Watermark != nil {
		w := *s.Watermark
		spec.Watermark = &w
	}
	schema := s.Schema()
	if cols, ok := b.proj[key]; ok {
		spec.Projection = append([]int(nil), cols...)
		fields := make([]types.Field, len(cols))
		for j, c := range cols {
			fields[j] = schema.Fields[c]
			if spec.Watermark != nil && spec.Watermark.Column == c {
				spec.Watermark.Column = j
			}
		}
		schema = types.Schema{Fields: fields}
	}
	n := &Node{
		Op:          &jobgraph.OperatorSpec{Output: schema, Source: spec},
		Parallelism: b.p,
		Dist:        Distribution{Kind: DistAny},
		Cols:        make([]ColInfo, schema.Len()),
		Pos:         s.At,
	}
	if b.p == 1 {
		n.Dist = Distribution{Kind: DistSingle}
	}
	b.sources[key] = n
	return n
}

func (b *builder) filter(f *logical.Filter, need []bool) (*rel, error) {
	width := f.Input.Schema().Len()
	inNeed := union(need, width, f.Cond)
	r, err := b.build(f.Input, inNeed)
	if err != nil {
		return nil, err
	}
	if cond := exprutil.Substitute(f.Cond, r.cols); r.tvf != nil && !tumbling(r) &&
		(placeholderIn(cond) != "" || (r.win.Kind == jobgraph.Session && !onPartition(r, cond))) {
		// Only TUMBLE's window columns can be computed in a Calc; and
		// rows removed before SESSION assignment could have extended or
		// bridged a session. Assign the windows first.
		if r, err = b.assign(r, inNeed, f.At); err != nil {
			return nil, err
		}
	}
	// A condition on window columns of a pending TUMBLE computes them from
	// its time column. (Rows without a time fail such a condition, or are
	// dropped later by the window aggregate or by the TVF's guard.)
	c := resolve(r, exprutil.Substitute(f.Cond, r.cols))
	if r.filter != nil && exprutil.MayFail(c) {
		// Keep c from running on rows the earlier filter removes.
		r, err = b.flush(r, inNeed, f.At)
		if err != nil {
			return nil, err
		}
		c = resolve(r, exprutil.Substitute(f.Cond, r.cols))
	}
	out := *r
	out.filter = exprutil.And(r.filter, c)
	return &out, nil
}

// onPartition reports whether e, over r.in's columns, reads only columns
// that are partition keys of r's pending SESSION: removing whole
// partitions changes no other partition's sessions.
func onPartition(r *rel, e *expr.Expr) bool {
	part := map[int]bool{}
	for _, p := range r.part {
		if c, ok := exprutil.IsColumn(p); ok {
			part[c] = true
		}
	}
	return !exprutil.Any(e, func(x *expr.Expr) bool { return x.Kind == expr.KindColumn && !part[x.Column] })
}

func (b *builder) project(p *logical.Project, need []bool) (*rel, error) {
	width := p.Input.Schema().Len()
	if need == nil {
		need = all(len(p.Exprs))
	}
	inNeed := make([]bool, width)
	counts := make([]int, width)
	for i, e := range p.Exprs {
		if need[i] {
			exprutil.AddRefs(inNeed, e)
			exprutil.CountRefs(counts, e)
		}
	}
	r, err := b.build(p.Input, inNeed)
	if err != nil {
		return nil, err
	}
	for i, c := range counts {
		if c > 1 && exprutil.IsExpensive(r.cols[i]) {
			// Compute the shared expression once, in a Calc of its own.
			if r, err = b.flush(r, inNeed, p.At); err != nil {
				return nil, err
			}
			break
		}
	}
	out := *r
	out.cols = make([]*expr.Expr, len(p.Exprs))
	out.names = p.Names
	for i, e := range p.Exprs {
		if need[i] {
			out.cols[i] = exprutil.Substitute(e, r.cols)
		}
	}
	return &out, nil
}

// calc returns an operator computing exprs over r's rows: a Calc over r.in,
// or r.in itself when there is no filter and exprs pass r.in's columns
// through unchanged. exprs must not read window placeholders.
func (b *builder) calc(r *rel, exprs []*expr.Expr, names []string, pos logical.Pos) *Node {
	in := r.in
	filter := r.filter
	if exprutil.IsTrue(filter) {
		filter = nil
	}
	if filter == nil && exprutil.IsIdentity(exprs, in.Op.Output.Len()) {
		return in
	}
	fields := make([]types.Field, len(exprs))
	cols := make([]ColInfo, len(exprs))
	for i, e := range exprs {
		fields[i] = types.Field{Name: names[i], Type: e.Type}
		if c, ok := exprutil.IsColumn(e); ok && c >= 0 && c < len(in.Cols) {
			cols[i] = in.Cols[c]
		}
	}
	return &Node{
		Op: &jobgraph.OperatorSpec{
			Output: types.Schema{Fields: fields},
			Calc:   &jobgraph.CalcSpec{Filter: filter, Projections: exprs},
		},
		Inputs:      []*Input{{From: in, Exchange: jobgraph.Forward}},
		Parallelism: in.Parallelism,
		Dist:        mapDist(in.Dist, exprs),
		Cols:        cols,
		Pos:         pos,
	}
}

// flush materializes r's filter and needed columns in a Calc and returns the
// equivalent rel over it. A pending window TVF stays pending: its window
// placeholders are kept and its time column is computed too; needed
// expressions over window columns are computed (on rows with a time).
func (b *builder) flush(r *rel, need []bool, pos logical.Pos) (*rel, error) {
	needed := func(i int) bool { return i < len(need) && need[i] && r.cols[i] != nil }
	for i, e := range r.cols {
		if needed(i) && computed(e) {
			if !tumbling(r) {
				return b.assign(r, need, pos)
			}
			r = guarded(r)
			break
		}
	}
	pb := newProjBuilder()
	at := make([]int, len(r.cols))
	for i, e := range r.cols {
		at[i] = -1
		if needed(i) && (placeholderIn(e) == "" || computed(e)) {
			at[i] = pb.add(resolve(r, e), r.names[i])
		}
	}
	timeAt := -1
	var partAt []int
	if r.tvf != nil {
		timeAt = pb.add(r.time, r.tvf.Input.Schema().Fields[r.tvf.Window.TimeColumn].Name)
		for i, p := range r.part {
			partAt = append(partAt, pb.add(p, partName(r, i)))
		}
	}
	node := b.calc(r, pb.exprs, pb.names, pos)
	out := &rel{in: node, cols: make([]*expr.Expr, len(r.cols)), names: r.names, tvf: r.tvf, win: r.win, guarded: r.guarded}
	for i, e := range r.cols {
		switch {
		case at[i] >= 0:
			out.cols[i] = expr.Col(at[i], e.Type)
		case e != nil && placeholderIn(e) != "" && !computed(e):
			out.cols[i] = e // a window column, still pending
		}
	}
	if timeAt >= 0 {
		out.time = expr.Col(timeAt, r.time.Type)
	}
	for i, p := range partAt {
		out.part = append(out.part, expr.Col(p, r.part[i].Type))
	}
	return out, nil
}

// materialize returns an operator computing r's columns listed in idx, in
// that order. A pending window TVF is computed first (see applyTVF).
func (b *builder) materialize(r *rel, idx []int, pos logical.Pos) (*Node, error) {
	need := make([]bool, len(r.cols))
	for _, i := range idx {
		need[i] = true
	}
	r, err := b.applyTVF(r, need, pos)
	if err != nil {
		return nil, err
	}
	exprs := make([]*expr.Expr, len(idx))
	names := make([]string, len(idx))
	for j, i := range idx {
		e := r.cols[i]
		if e == nil {
			return nil, fmt.Errorf("planner: internal error: column %d (%s) is needed but was pruned", i, r.names[i])
		}
		exprs[j], names[j] = e, r.names[i]
	}
	return b.calc(r, exprs, names, pos), nil
}

// mapDist returns the distribution of a Calc's output whose input is
// distributed as d: hash keys survive when the Calc passes them through.
func mapDist(d Distribution, exprs []*expr.Expr) Distribution {
	if d.Kind != DistHash {
		return d
	}
	keys := make([]int, len(d.Keys))
	for i, k := range d.Keys {
		keys[i] = -1
		for j, e := range exprs {
			if c, ok := exprutil.IsColumn(e); ok && c == k {
				keys[i] = j
				break
			}
		}
		if keys[i] < 0 {
			return Distribution{Kind: DistAny}
		}
	}
	return Distribution{Kind: DistHash, Keys: keys}
}

// feed returns the operator whose output a consumer reading exprs (over r)
// takes as input, and at[j], the column of that operator holding exprs[j].
// When r has no filter and exprs only pick columns of r.in, the consumer
// reads r.in directly, without a Calc, if picking would not prune a column
// of r.in (a Calc that only reorders columns is useless) or, when prune
// allows it, if no exchange follows that pruning would make cheaper.
// reqOf gives the consumer's requirement for an input that is from with
// the exprs at at. Otherwise feed adds a Calc computing exprs.
func (b *builder) feed(r *rel, exprs []*expr.Expr, names []string, pos logical.Pos, reqOf func(from *Node, at []int) requirement, prune bool) (*Node, []int) {
	if r.filter == nil || exprutil.IsTrue(r.filter) {
		at := make([]int, len(exprs))
		seen := map[int]bool{}
		plain := true
		for j, e := range exprs {
			c, ok := exprutil.IsColumn(e)
			if !ok || c < 0 {
				plain = false
				break
			}
			at[j] = c
			seen[c] = true
		}
		if plain {
			permutation := len(seen) == len(exprs) && len(seen) == r.in.Op.Output.Len()
			if permutation || (prune && !b.exchanges(r.in, reqOf(r.in, at))) {
				return r.in, at
			}
		}
	}
	n := b.calc(r, exprs, names, pos)
	at := make([]int, len(exprs))
	for j := range at {
		at[j] = j
	}
	return n, at
}

// requirement is what an operator needs of its input's distribution.
type requirement struct {
	kind DistKind // DistAny: nothing; DistHash: Keys; DistSingle: all rows together
	keys []int
}

// orderLike returns keys in the order from's distribution hashes them, when
// from already is hash-distributed on exactly those columns, so the
// operator's key order matches the key groups its rows arrive in; otherwise
// keys unchanged.
func (b *builder) orderLike(from *Node, keys []int) []int {
	if from.Parallelism != b.p || from.Dist.Kind != DistHash || !sameSet(from.Dist.Keys, keys) {
		return keys
	}
	return append([]int(nil), from.Dist.Keys...)
}

// exchanges reports whether connect would put an exchange between from and
// a consumer with requirement req at a parallelism above 1. It answers the
// same at parallelism 1, where every edge is forward, so that whether a
// pruning Calc sits before the consumer, and so the input layout of the
// consumer's state, does not depend on the parallelism: a checkpoint taken
// at one parallelism restores at another.
func (b *builder) exchanges(from *Node, req requirement) bool {
	if b.p == 1 {
		switch req.kind {
		case DistHash:
			return true
		case DistSingle:
			return !singleByDesign(from)
		}
		return false
	}
	in, _, _ := b.connect(from, req)
	return in.Exchange != jobgraph.Forward
}

// singleByDesign reports whether from runs in one subtask at any
// parallelism: a global aggregate (no group keys) or what follows one.
func singleByDesign(n *Node) bool {
	for {
		if g := n.Op.GroupAgg; g != nil && len(g.GroupKeys) == 0 && g.Phase == jobgraph.OnePhase {
			return true
		}
		if len(n.Inputs) != 1 || n.Inputs[0].Exchange != jobgraph.Forward {
			return false
		}
		n = n.Inputs[0].From
	}
}

// connect returns the input edge from from that meets req, the consumer's
// parallelism and the distribution of the rows the consumer receives.
func (b *builder) connect(from *Node, req requirement) (*Input, int, Distribution) {
	fwd := &Input{From: from, Exchange: jobgraph.Forward}
	switch req.kind {
	case DistHash:
		if from.Parallelism == 1 && b.p == 1 {
			return fwd, 1, Distribution{Kind: DistSingle}
		}
		if from.Parallelism == b.p && from.Dist.Kind == DistHash && equalInts(from.Dist.Keys, req.keys) {
			return fwd, b.p, from.Dist
		}
		keys := append([]int(nil), req.keys...)
		return &Input{From: from, Exchange: jobgraph.Hash, Keys: keys}, b.p, Distribution{Kind: DistHash, Keys: keys}
	case DistSingle:
		if from.Parallelism == 1 {
			return fwd, 1, Distribution{Kind: DistSingle}
		}
		return &Input{From: from, Exchange: jobgraph.Single}, 1, Distribution{Kind: DistSingle}
	}
	return fwd, from.Parallelism, from.Dist
}

func (b *builder) sink(s *logical.Sink) (*Node, error) {
	width := s.Input.Schema().Len()
	r, err := b.build(s.Input, all(width))
	if err != nil {
		return nil, err
	}
	idx := make([]int, width)
	for i := range idx {
		idx[i] = i
	}
	in, err := b.materialize(r, idx, s.At)
	if err != nil {
		return nil, err
	}
	table := s.Table.Schema
	got := in.Op.Output
	if got.Len() != table.Len() {
		return nil, planerr.At(s.At, "INSERT INTO %s: the query has %d columns but the table has %d", s.Table.Table, got.Len(), table.Len())
	}
	for i, f := range table.Fields {
		if !got.Fields[i].Type.SameValues(f.Type) {
			return nil, planerr.At(s.At, "INSERT INTO %s: column %d (%s) is %s but table column %s is %s",
				s.Table.Table, i+1, got.Fields[i].Name, got.Fields[i].Type.Plain(), f.Name, f.Type.Plain())
		}
	}
	edge, par, _ := b.connect(in, requirement{kind: DistAny})
	return &Node{
		Op:          &jobgraph.OperatorSpec{Sink: &jobgraph.SinkSpec{TableRef: s.Table}},
		Inputs:      []*Input{edge},
		Parallelism: par,
		Dist:        Distribution{Kind: DistAny},
		Pos:         s.At,
	}, nil
}

// projBuilder collects the projections of a Calc, computing each distinct
// expression once.
type projBuilder struct {
	exprs []*expr.Expr
	names []string
	seen  map[string]int
}

func newProjBuilder() *projBuilder { return &projBuilder{seen: map[string]int{}} }

// add returns the output column computing e, adding it if it is new.
func (pb *projBuilder) add(e *expr.Expr, name string) int {
	fp := exprutil.Fingerprint(e)
	if i, ok := pb.seen[fp]; ok {
		return i
	}
	pb.seen[fp] = len(pb.exprs)
	pb.exprs = append(pb.exprs, e)
	pb.names = append(pb.names, name)
	return len(pb.exprs) - 1
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[int]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
		if m[x] < 0 {
			return false
		}
	}
	return true
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// unique returns xs without repeats, in first-seen order.
func unique(xs []int) []int {
	var out []int
	seen := map[int]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// number puts the plan's nodes in a stable topological order (inputs first,
// sinks in script order) and names them: operator IDs are "<kind>-<N>",
// numbered per kind in that order. The same SQL always gets the same IDs,
// and since only stateless Calcs come and go with the parallelism (a Calc
// that only picks columns is left out where no exchange follows), sources,
// sinks and stateful operators keep their IDs when a job is rescaled.
func (p *Plan) number() {
	seen := map[*Node]bool{}
	var visit func(n *Node)
	visit = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, in := range n.Inputs {
			visit(in.From)
		}
		p.Nodes = append(p.Nodes, n)
	}
	for _, s := range p.Sinks {
		visit(s)
	}
	count := map[string]int{}
	for _, n := range p.Nodes {
		kind := n.Op.Kind()
		count[kind]++
		n.Op.ID = fmt.Sprintf("%s-%d", kind, count[kind])
		n.Op.Name = opName(n.Op)
		if n.name != "" {
			n.Op.Name = n.name
		}
	}
}

func opName(op *jobgraph.OperatorSpec) string {
	switch {
	case op.Source != nil:
		return "Source: " + op.Source.Table
	case op.Calc != nil:
		return "Calc"
	case op.WindowAgg != nil:
		return "WindowAggregate: " + strings.ToUpper(string(op.WindowAgg.Window.Kind))
	case op.WindowTopN != nil:
		return fmt.Sprintf("WindowTopN: %d", op.WindowTopN.N)
	case op.Sink != nil:
		return "Sink: " + op.Sink.Table
	case op.WindowAssign != nil:
		return "WindowAssign: " + strings.ToUpper(string(op.WindowAssign.Window.Kind))
	case op.WindowJoin != nil:
		return "WindowJoin: " + strings.ToUpper(string(op.WindowJoin.Type))
	case op.Union != nil:
		return "Union"
	case op.Correlate != nil:
		return "Correlate: " + op.Correlate.Function
	case op.WatermarkAssigner != nil:
		return "WatermarkAssigner"
	case op.GroupAgg != nil:
		return "GroupAggregate"
	}
	return op.Kind()
}
