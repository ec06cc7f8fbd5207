package physical

import (
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
)

// sourceMode returns the changelog a source's table carries: what its
// connector says (connectors.ChangelogSource), else retract for a
// filesystem table in 'changelog-json' format, else append-only.
func (b *builder) sourceMode(s *jobgraph.SourceSpec) jobgraph.ChangelogMode {
	if b.reg != nil {
		if f, ok := b.reg.Lookup(s.Connector); ok {
			if cs, ok := f.(connectors.ChangelogSource); ok {
				info := tableInfo(s.TableRef)
				switch m := jobgraph.ChangelogMode(strings.ToLower(cs.SourceChangelog(info))); m {
				case jobgraph.Retract:
					return m
				case jobgraph.Upsert:
					if len(s.PrimaryKey) > 0 {
						return m
					}
					// An upsert stream needs a key; without one its
					// changes can only be read as retractions.
					return jobgraph.Retract
				}
				return jobgraph.AppendOnly
			}
		}
	}
	if strings.EqualFold(s.Connector, "filesystem") && strings.EqualFold(option(s.Options, "format"), "changelog-json") {
		return jobgraph.Retract
	}
	return jobgraph.AppendOnly
}

// option returns a table option by case-insensitive key.
func option(opts map[string]string, key string) string {
	for k, v := range opts {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// passThrough reports whether n forwards its inputs' changes as they are
// (row kinds pass through; the unique key may not survive).
func passThrough(op *jobgraph.OperatorSpec) bool {
	return op.Calc != nil || op.WatermarkAssigner != nil || op.LookupJoin != nil || op.Correlate != nil || op.Union != nil
}

// updating reports whether n's output carries updates (-U, +U or -D rows),
// from what n is and whether its inputs do.
func (b *builder) updating(n *Node) bool {
	if u, ok := b.upd[n]; ok {
		return u
	}
	op := n.Op
	u := false
	switch {
	case op.Source != nil:
		u = b.sourceMode(op.Source) != jobgraph.AppendOnly
	case passThrough(op):
		for _, in := range n.Inputs {
			u = u || b.updating(in.From)
		}
	case op.GroupAgg != nil:
		u = op.GroupAgg.Phase != jobgraph.LocalPhase
	case op.Rank != nil:
		u = true
	case op.Dedup != nil:
		// Keep-first on processing time emits each key's first row once.
		u = !(op.Dedup.ProcTime && !op.Dedup.KeepLast)
	case op.Join != nil:
		u = op.Join.Type != jobgraph.InnerJoin || b.updating(n.Inputs[0].From) || b.updating(n.Inputs[1].From)
	}
	b.upd[n] = u
	return u
}

// uniqueKey returns the output columns no two live rows of n share, when
// n's changes can be keyed by them (nil: no such key).
func (b *builder) uniqueKey(n *Node) []int {
	op := n.Op
	switch {
	case op.Source != nil:
		pk := op.Source.PrimaryKey
		if len(pk) == 0 {
			return nil
		}
		if op.Source.Projection == nil {
			return append([]int(nil), pk...)
		}
		pos := map[int]int{}
		for j, c := range op.Source.Projection {
			pos[c] = j
		}
		var out []int
		for _, c := range pk {
			j, ok := pos[c]
			if !ok {
				return nil
			}
			out = append(out, j)
		}
		return out
	case op.Calc != nil:
		in := b.uniqueKey(n.Inputs[0].From)
		if in == nil {
			return nil
		}
		var out []int
		for _, k := range in {
			found := -1
			for j, e := range op.Calc.Projections {
				if c, ok := exprutil.IsColumn(e); ok && c == k {
					found = j
					break
				}
			}
			if found < 0 {
				return nil
			}
			out = append(out, found)
		}
		return out
	case op.WatermarkAssigner != nil:
		return b.uniqueKey(n.Inputs[0].From)
	case op.GroupAgg != nil:
		if op.GroupAgg.Phase == jobgraph.LocalPhase || len(op.GroupAgg.GroupKeys) == 0 {
			return nil
		}
		out := make([]int, len(op.GroupAgg.GroupKeys))
		for i := range out {
			out[i] = i
		}
		return out
	case op.Rank != nil:
		// Only ROW_NUMBER numbers rows uniquely; RANK and DENSE_RANK
		// give tied rows the same rank.
		if op.Rank.Func != jobgraph.RowNumber {
			return nil
		}
		if !op.Rank.EmitRank {
			// A Top-1 keeps one row per partition.
			if op.Rank.N == 1 && len(op.Rank.PartitionKeys) > 0 {
				return append([]int(nil), op.Rank.PartitionKeys...)
			}
			return nil
		}
		return append(append([]int(nil), op.Rank.PartitionKeys...), op.Output.Len()-1)
	case op.Dedup != nil:
		if len(op.Dedup.Keys) == 0 {
			return nil
		}
		return append([]int(nil), op.Dedup.Keys...)
	}
	return nil
}

// changelog derives every operator's changelog mode, as Flink does: sources
// append (or carry a table's changelog), group aggregates, Top-Ns,
// deduplications and regular joins produce updates, Calcs, unions and
// lookup joins pass them on, window operators and interval joins refuse
// them. Whether an updating operator sends -U rows (EmitUpdateBefore, a
// retract stream) or only +U rows keyed by its unique key (an upsert
// stream) is decided by its consumers: aggregates, Top-Ns and joins fed
// updates, Calcs that filter or drop the key, retract sinks and upsert
// sinks keyed differently need -U. It sets OperatorSpec.Changelog and
// UniqueKey, the updating specs' flags and SinkSpec.Changelog, and refuses
// updates where they cannot go.
func (b *builder) changelog(p *Plan) error {
	key := map[*Node][]int{}
	for _, n := range p.Nodes {
		key[n] = b.uniqueKey(n)
		if err := b.refuseUpdates(n); err != nil {
			return err
		}
	}
	// What each operator's consumers need: -U rows or not.
	needUB := map[*Node]bool{}
	for i := len(p.Nodes) - 1; i >= 0; i-- {
		c := p.Nodes[i]
		op := c.Op
		for k, in := range c.Inputs {
			n := in.From
			if !b.updating(n) {
				continue
			}
			req := false
			switch {
			case op.GroupAgg != nil, op.Rank != nil, op.Dedup != nil, op.Join != nil,
				op.LookupJoin != nil, op.Correlate != nil, op.Union != nil:
				req = true
			case op.Calc != nil:
				req = needUB[c] || key[c] == nil || op.Calc.Filter != nil
			case op.WatermarkAssigner != nil:
				req = needUB[c] || key[c] == nil
			case op.TemporalJoin != nil && k == 1:
				req = !sameSet(key[n], op.TemporalJoin.RightKeys)
			case op.Sink != nil:
				req = len(op.Sink.PrimaryKey) == 0 || !sameSet(key[n], op.Sink.PrimaryKey)
			}
			needUB[n] = needUB[n] || req
		}
	}
	carriesUB := map[*Node]bool{}
	for _, n := range p.Nodes {
		op := n.Op
		upd := b.updating(n)
		switch {
		case op.Source != nil:
			carriesUB[n] = b.sourceMode(op.Source) == jobgraph.Retract
		case op.GroupAgg != nil:
			op.GroupAgg.InputRetracts = b.updating(n.Inputs[0].From)
			if op.GroupAgg.InputRetracts {
				for _, c := range op.GroupAgg.Aggs {
					if c.Func == jobgraph.ApproxCountDistinct || c.Func == jobgraph.UDAF {
						src := b.producer(n.Inputs[0].From)
						return planerr.At(n.Pos, "%s cannot retract rows, but its input is updating: %s at %d:%d produces updates",
							aggCallName(c), describe(src), src.Pos.Line, src.Pos.Col)
					}
				}
			}
			op.GroupAgg.EmitUpdateBefore = upd && (needUB[n] || key[n] == nil)
			carriesUB[n] = op.GroupAgg.EmitUpdateBefore
		case op.Rank != nil:
			op.Rank.InputRetracts = b.updating(n.Inputs[0].From)
			op.Rank.EmitUpdateBefore = needUB[n] || key[n] == nil
			carriesUB[n] = op.Rank.EmitUpdateBefore
		case op.Dedup != nil:
			op.Dedup.InputRetracts = b.updating(n.Inputs[0].From)
			op.Dedup.EmitUpdateBefore = upd && (needUB[n] || key[n] == nil)
			carriesUB[n] = op.Dedup.EmitUpdateBefore
		case op.Join != nil:
			op.Join.LeftRetracts = b.updating(n.Inputs[0].From)
			op.Join.RightRetracts = b.updating(n.Inputs[1].From)
			op.Join.EmitUpdateBefore = upd
			carriesUB[n] = upd
		case passThrough(op):
			for _, in := range n.Inputs {
				carriesUB[n] = carriesUB[n] || carriesUB[in.From]
			}
		}
		if needUB[n] && upd && !carriesUB[n] {
			return planerr.At(n.Pos, "%s is an upsert stream keyed by %s, but its consumer needs every update as a retraction (-U then +U), which this source cannot give",
				describe(n), explain.Columns(key[n], fieldNames(n)))
		}
		switch {
		case !upd || op.Sink != nil:
			op.Changelog, op.UniqueKey = "", nil
		case carriesUB[n]:
			op.Changelog, op.UniqueKey = jobgraph.Retract, nil
		default:
			if key[n] == nil {
				return fmt.Errorf("planner: internal error: %s is an upsert stream without a unique key", op.ID)
			}
			op.Changelog, op.UniqueKey = jobgraph.Upsert, append([]int(nil), key[n]...)
		}
		if op.Sink != nil {
			if err := b.sinkChangelog(n, carriesUB[n.Inputs[0].From]); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuseUpdates refuses updating input to the operators that need
// append-only input: window operators, interval joins and the left side of
// a temporal join.
func (b *builder) refuseUpdates(n *Node) error {
	op := n.Op
	var what string
	inputs := n.Inputs
	switch {
	case op.WindowAgg != nil:
		what = "a window aggregation"
	case op.WindowTopN != nil:
		what = "a window Top-N"
	case op.WindowJoin != nil:
		what = "a window join"
	case op.WindowAssign != nil:
		what = "a window TVF"
	case op.IntervalJoin != nil:
		what = "an interval join"
	case op.TemporalJoin != nil:
		what, inputs = "the left side of a temporal join", inputs[:1]
	default:
		return nil
	}
	for _, in := range inputs {
		if b.updating(in.From) {
			src := b.producer(in.From)
			return planerr.At(n.Pos, "%s needs an append-only input, but its input is updating: %s at %d:%d produces updates",
				what, describe(src), src.Pos.Line, src.Pos.Col)
		}
	}
	return nil
}

// producer returns the operator whose updates n's output carries: n, or,
// through operators that pass changes on, the first updating one below.
func (b *builder) producer(n *Node) *Node {
	for passThrough(n.Op) {
		next := n
		for _, in := range n.Inputs {
			if b.updating(in.From) {
				next = in.From
				break
			}
		}
		if next == n {
			return n
		}
		n = next
	}
	return n
}

func fieldNames(n *Node) []string {
	out := make([]string, n.Op.Output.Len())
	for i, f := range n.Op.Output.Fields {
		out[i] = f.Name
	}
	return out
}

func inputNames(n *Node) []string {
	if len(n.Inputs) == 0 {
		return nil
	}
	return fieldNames(n.Inputs[0].From)
}

// describe names an operator that produces updates, for error messages,
// e.g. GroupAggregate(group by room_id).
func describe(n *Node) string {
	op := n.Op
	switch {
	case op.Source != nil:
		return tableDesc(op.Source.TableRef)
	case op.GroupAgg != nil:
		if len(op.GroupAgg.GroupKeys) == 0 {
			return "GroupAggregate(no GROUP BY)"
		}
		return "GroupAggregate(group by " + explain.Columns(op.GroupAgg.GroupKeys, inputNames(n)) + ")"
	case op.Rank != nil:
		s := fmt.Sprintf("Rank(%s <= %d", strings.ToUpper(string(op.Rank.Func)), op.Rank.N)
		if len(op.Rank.PartitionKeys) > 0 {
			s += ", partition by " + explain.Columns(op.Rank.PartitionKeys, inputNames(n))
		}
		return s + ")"
	case op.Dedup != nil:
		keep := "first"
		if op.Dedup.KeepLast {
			keep = "last"
		}
		s := "Deduplicate(keep " + keep
		if len(op.Dedup.Keys) > 0 {
			s += ", partition by " + explain.Columns(op.Dedup.Keys, inputNames(n))
		}
		return s + ")"
	case op.Join != nil:
		return "Join(" + strings.ToUpper(string(op.Join.Type)) + ")"
	}
	return op.Name
}

// tableDesc is "table 'x' (connector 'c', format 'f')".
func tableDesc(t jobgraph.TableRef) string {
	s := fmt.Sprintf("table '%s' (connector '%s'", t.Table, t.Connector)
	if f := option(t.Options, "format"); f != "" {
		s += fmt.Sprintf(", format '%s'", f)
	}
	return s + ")"
}

// sinkChangelog sets what a sink receives and refuses updates a sink's
// connector does not accept (connectors.UpdatingSink).
func (b *builder) sinkChangelog(n *Node, ub bool) error {
	in := n.Inputs[0].From
	s := n.Op.Sink
	switch {
	case !b.updating(in):
		s.Changelog = ""
		return nil
	case ub:
		s.Changelog = jobgraph.Retract
	default:
		s.Changelog = jobgraph.Upsert
	}
	if b.reg == nil {
		return nil
	}
	f, ok := b.reg.Lookup(s.Connector)
	if !ok {
		return nil
	}
	src := b.producer(in)
	refuse := func(why string) error {
		return planerr.At(n.Pos, "%s is append-only, but its input is updating: %s at %d:%d produces updates; %s",
			tableDesc(s.TableRef), describe(src), src.Pos.Line, src.Pos.Col, why)
	}
	us, ok := f.(connectors.UpdatingSink)
	if !ok {
		return refuse(fmt.Sprintf("connector '%s' only writes inserts", s.Connector))
	}
	info := tableInfo(s.TableRef)
	info.PrimaryKey = append([]int(nil), s.PrimaryKey...)
	info.Changelog = string(s.Changelog)
	if err := us.AcceptsUpdates(info); err != nil {
		return refuse(err.Error())
	}
	return nil
}

// aggCallName names an aggregate call in messages: "APPROX_COUNT_DISTINCT",
// or a user-defined aggregate's name.
func aggCallName(c jobgraph.AggCall) string {
	if c.Func == jobgraph.UDAF {
		return "the user-defined aggregate " + c.UDF
	}
	return strings.ToUpper(string(c.Func))
}
