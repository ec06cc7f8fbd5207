package physical

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// projections decides, after a first planning pass, which sources read
// only some of their table's columns: those whose connector implements
// connectors.ProjectableSource and accepts the table, when the job reads
// fewer than all columns. The rowtime column stays (the source generates
// watermarks from it), and at least one column does (rows are counted).
func (b *builder) projections(reg *connectors.Registry) map[string][]int {
	out := map[string][]int{}
	for key, need := range b.needs {
		s := b.refs[key]
		f, ok := reg.Lookup(s.Table.Connector)
		if !ok {
			continue
		}
		ps, ok := f.(connectors.ProjectableSource)
		if !ok || !ps.CanProject(tableInfo(s.Table)) {
			continue
		}
		keep := append([]bool(nil), need...)
		if s.Watermark != nil {
			keep[s.Watermark.Column] = true
		}
		cols := indicesOf(keep)
		if len(cols) == 0 && len(keep) > 0 {
			cols = []int{0}
		}
		if len(cols) < len(keep) {
			out[key] = cols
		}
	}
	return out
}

// tableInfo is what a connector is told about a table (option keys lower-
// cased, as the runtime hands them over).
func tableInfo(ref jobgraph.TableRef) connectors.TableInfo {
	opts := make(map[string]string, len(ref.Options))
	for k, v := range ref.Options {
		opts[strings.ToLower(k)] = v
	}
	return connectors.TableInfo{Name: ref.Table, Schema: ref.Schema, Options: opts, PartitionKeys: ref.PartitionKeys}
}

// check verifies what every operator of a finished plan reads: column
// indices within its inputs, expression columns of the type the input
// has, output widths that match the spec, hash keys within the producer's
// output. A failure is a planner bug, reported as an internal error rather
// than handed to the engine.
func check(p *Plan) error {
	for _, n := range p.Nodes {
		if err := checkNode(n); err != nil {
			return fmt.Errorf("planner: internal error: operator %s: %w", n.Op.ID, err)
		}
	}
	return nil
}

func checkNode(n *Node) error {
	op := n.Op
	var ins []types.Schema
	for i, in := range n.Inputs {
		out := in.From.Op.Output
		ins = append(ins, out)
		for _, k := range in.Keys {
			if k < 0 || k >= out.Len() || !hashable(out.Fields[k].Type) {
				return fmt.Errorf("input %d: hash key column %d of %s", i, k, out)
			}
		}
		if in.Exchange == jobgraph.Hash && len(in.Keys) == 0 {
			return fmt.Errorf("input %d: hash exchange without keys", i)
		}
	}
	wantInputs := 1
	switch {
	case op.Source != nil:
		wantInputs = 0
	case op.WindowJoin != nil, op.Join != nil, op.IntervalJoin != nil, op.TemporalJoin != nil:
		wantInputs = 2
	case op.Union != nil:
		wantInputs = op.Union.Inputs
	}
	if len(ins) != wantInputs {
		return fmt.Errorf("%d inputs, want %d", len(ins), wantInputs)
	}
	var in types.Schema
	if len(ins) > 0 {
		in = ins[0]
	}
	col := func(s types.Schema, what string, cs ...int) error {
		for _, c := range cs {
			if c < 0 || c >= s.Len() {
				return fmt.Errorf("%s reads column %d of %d", what, c, s.Len())
			}
		}
		return nil
	}
	exprs := func(s types.Schema, what string, es ...*expr.Expr) error {
		for _, e := range es {
			if e == nil {
				return fmt.Errorf("%s: nil expression", what)
			}
			var err error
			walk(e, func(x *expr.Expr) {
				if err != nil || x.Kind != expr.KindColumn {
					return
				}
				if x.Column < 0 || x.Column >= s.Len() {
					err = fmt.Errorf("%s reads column %d of %d", what, x.Column, s.Len())
				} else if !s.Fields[x.Column].Type.SameValues(x.Type) {
					err = fmt.Errorf("%s reads column %d (%s) as %s", what, x.Column, s.Fields[x.Column], x.Type)
				}
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	width := func(want int) error {
		if op.Output.Len() != want {
			return fmt.Errorf("output has %d columns, want %d", op.Output.Len(), want)
		}
		return nil
	}
	switch {
	case op.Source != nil:
		s := op.Source
		if s.Projection == nil {
			return width(s.Schema.Len())
		}
		if !sort.IntsAreSorted(s.Projection) {
			return fmt.Errorf("projection %v is not in table order", s.Projection)
		}
		if err := col(s.Schema, "projection", s.Projection...); err != nil {
			return err
		}
		if w := s.Watermark; w != nil {
			if err := col(op.Output, "watermark", w.Column); err != nil {
				return err
			}
		}
		return width(len(s.Projection))
	case op.Calc != nil:
		if op.Calc.Filter != nil {
			if err := exprs(in, "filter", op.Calc.Filter); err != nil {
				return err
			}
		}
		if err := exprs(in, "projection", op.Calc.Projections...); err != nil {
			return err
		}
		return width(len(op.Calc.Projections))
	case op.WindowAgg != nil:
		w := op.WindowAgg
		if err := col(in, "window", append([]int{w.Window.TimeColumn}, w.Window.PartitionBy...)...); err != nil {
			return err
		}
		if err := col(in, "group key", w.GroupKeys...); err != nil {
			return err
		}
		for _, a := range w.Aggs {
			if a.Arg >= 0 || a.Func != jobgraph.CountStar {
				if err := col(in, "aggregate "+a.Name, aggInputs(a)...); err != nil {
					return err
				}
			}
		}
		return width(len(w.GroupKeys) + 2 + len(w.Aggs))
	case op.WindowTopN != nil:
		t := op.WindowTopN
		cs := append([]int{t.WindowStart, t.WindowEnd}, t.PartitionKeys...)
		for _, k := range t.OrderBy {
			cs = append(cs, k.Column)
		}
		if err := col(in, "window Top-N", cs...); err != nil {
			return err
		}
		if t.EmitRank {
			return width(in.Len() + 1)
		}
		return width(in.Len())
	case op.WindowAssign != nil:
		w := op.WindowAssign.Window
		if err := col(in, "window", append([]int{w.TimeColumn}, w.PartitionBy...)...); err != nil {
			return err
		}
		return width(in.Len() + 3)
	case op.WindowJoin != nil:
		j := op.WindowJoin
		l, r := ins[0], ins[1]
		if len(j.LeftKeys) != len(j.RightKeys) {
			return fmt.Errorf("%d left keys, %d right keys", len(j.LeftKeys), len(j.RightKeys))
		}
		if err := col(l, "left", append([]int{j.LeftWindowStart, j.LeftWindowEnd}, j.LeftKeys...)...); err != nil {
			return err
		}
		if err := col(r, "right", append([]int{j.RightWindowStart, j.RightWindowEnd}, j.RightKeys...)...); err != nil {
			return err
		}
		both := types.Schema{Fields: append(append([]types.Field(nil), l.Fields...), r.Fields...)}
		if j.Residual != nil {
			if err := exprs(both, "residual", j.Residual); err != nil {
				return err
			}
		}
		if j.Type == jobgraph.SemiJoin || j.Type == jobgraph.AntiJoin {
			return width(l.Len())
		}
		return width(both.Len())
	case op.Union != nil:
		for i, s := range ins {
			if s.Len() != op.Output.Len() {
				return fmt.Errorf("input %d has %d columns, the union %d", i, s.Len(), op.Output.Len())
			}
			for c, f := range s.Fields {
				if !f.Type.SameValues(op.Output.Fields[c].Type) {
					return fmt.Errorf("input %d column %d is %s, the union's %s", i, c, f.Type, op.Output.Fields[c].Type)
				}
			}
		}
		return nil
	case op.Correlate != nil:
		if err := exprs(in, "function argument", op.Correlate.Args...); err != nil {
			return err
		}
		if op.Output.Len() <= in.Len() {
			return fmt.Errorf("output has %d columns for an input of %d", op.Output.Len(), in.Len())
		}
		return nil
	case op.WatermarkAssigner != nil:
		c := op.WatermarkAssigner.Column
		if err := col(in, "watermark", c); err != nil {
			return err
		}
		if in.Fields[c].Type.Kind != types.Timestamp {
			return fmt.Errorf("watermark column %s is not a TIMESTAMP", in.Fields[c])
		}
		return width(in.Len())
	case op.GroupAgg != nil:
		g := op.GroupAgg
		if err := col(in, "group key", g.GroupKeys...); err != nil {
			return err
		}
		for _, a := range g.Aggs {
			if a.Arg >= 0 || a.Func != jobgraph.CountStar {
				if err := col(in, "aggregate "+a.Name, aggInputs(a)...); err != nil {
					return err
				}
			}
		}
		return width(len(g.GroupKeys) + len(g.Aggs))
	case op.Rank != nil:
		t := op.Rank
		cs := append([]int(nil), t.PartitionKeys...)
		for _, k := range t.OrderBy {
			cs = append(cs, k.Column)
		}
		if err := col(in, "rank", cs...); err != nil {
			return err
		}
		if t.EmitRank {
			return width(in.Len() + 1)
		}
		return width(in.Len())
	case op.Dedup != nil:
		d := op.Dedup
		cs := append([]int(nil), d.Keys...)
		if !d.ProcTime {
			cs = append(cs, d.TimeColumn)
		}
		if err := col(in, "deduplicate", cs...); err != nil {
			return err
		}
		return width(in.Len())
	case op.Join != nil, op.IntervalJoin != nil, op.TemporalJoin != nil:
		l, r := ins[0], ins[1]
		var lk, rk, lc, rc []int
		var residual *expr.Expr
		semi := false
		switch {
		case op.Join != nil:
			lk, rk, residual = op.Join.LeftKeys, op.Join.RightKeys, op.Join.Residual
			semi = op.Join.Type == jobgraph.SemiJoin || op.Join.Type == jobgraph.AntiJoin
		case op.IntervalJoin != nil:
			j := op.IntervalJoin
			lk, rk, residual = j.LeftKeys, j.RightKeys, j.Residual
			lc, rc = []int{j.LeftTime}, []int{j.RightTime}
			if l.Fields[j.LeftTime].Type.Kind != types.Timestamp || r.Fields[j.RightTime].Type.Kind != types.Timestamp {
				return fmt.Errorf("interval join time columns are not TIMESTAMPs")
			}
		default:
			j := op.TemporalJoin
			lk, rk, residual = j.LeftKeys, j.RightKeys, j.Residual
			lc, rc = []int{j.LeftTime}, []int{j.RightTime}
		}
		if len(lk) != len(rk) {
			return fmt.Errorf("%d left keys, %d right keys", len(lk), len(rk))
		}
		if err := col(l, "left", append(lc, lk...)...); err != nil {
			return err
		}
		if err := col(r, "right", append(rc, rk...)...); err != nil {
			return err
		}
		both := types.Schema{Fields: append(append([]types.Field(nil), l.Fields...), r.Fields...)}
		if residual != nil {
			if err := exprs(both, "residual", residual); err != nil {
				return err
			}
		}
		if semi {
			return width(l.Len())
		}
		return width(both.Len())
	case op.LookupJoin != nil:
		j := op.LookupJoin
		if len(j.Keys) != len(j.DimKeys) {
			return fmt.Errorf("%d keys, %d dimension keys", len(j.Keys), len(j.DimKeys))
		}
		if err := col(in, "lookup key", j.Keys...); err != nil {
			return err
		}
		if err := col(j.Dim.Schema, "dimension key", j.DimKeys...); err != nil {
			return err
		}
		both := types.Schema{Fields: append(append([]types.Field(nil), in.Fields...), j.Dim.Schema.Fields...)}
		if j.Residual != nil {
			if err := exprs(both, "residual", j.Residual); err != nil {
				return err
			}
		}
		return width(both.Len())
	case op.Sink != nil:
		if in.Len() != op.Sink.Schema.Len() {
			return fmt.Errorf("sink input has %d columns, the table %d", in.Len(), op.Sink.Schema.Len())
		}
		return nil
	}
	return fmt.Errorf("unknown operator kind %s", op.Kind())
}

func walk(e *expr.Expr, fn func(*expr.Expr)) {
	if e == nil {
		return
	}
	fn(e)
	for _, a := range e.Args {
		walk(a, fn)
	}
}
