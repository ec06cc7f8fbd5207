package runtime

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// vertexPlan is a validated vertex with what its subtasks need.
type vertexPlan struct {
	v       *jobgraph.Vertex
	inputs  []edgeRef // ordered by Input
	outputs []edgeRef
	// source is set when Ops[0] is a source; splitSource too when the
	// source is read as splits (connectors.SplitSourceFactory), source then
	// being splitSource's stand-in for the checks that every source passes.
	source      connectors.Source
	splitSource connectors.SplitSource
	// deadLetter is the sink of the source's dead-letter table, if any.
	deadLetter connectors.Sink
	// sourceSchema is what the source's readers return: the table's
	// columns, or the projected ones; sourceCols their Arrow types.
	sourceSchema types.Schema
	sourceCols   []arrow.DataType
	// sink is set when the last op is a sink.
	sink connectors.Sink
}

// edgeRef is an edge with its index in the graph.
type edgeRef struct {
	index int
	e     *jobgraph.Edge
}

// buildPlan validates g against what this runtime can run and resolves
// connectors and operator factories. Errors name the vertex, operator or
// edge at fault.
func buildPlan(g *jobgraph.Graph, opts Options) (plans []*vertexPlan, maxP int, idle time.Duration, cfg map[string]string, err error) {
	if g == nil {
		return nil, 0, 0, nil, fmt.Errorf("runtime: no job graph")
	}
	if err := g.Validate(); err != nil {
		return nil, 0, 0, nil, fmt.Errorf("runtime: %w", err)
	}
	maxP = g.MaxParallelism
	if maxP == 0 {
		maxP = jobgraph.DefaultMaxParallelism
	}
	cfg = make(map[string]string, len(g.Config)+len(opts.Config))
	for k, v := range g.Config {
		cfg[k] = v
	}
	for k, v := range opts.Config {
		cfg[k] = v
	}
	if v, ok := cfg[IdleTimeoutKey]; ok {
		d, err := connectors.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, 0, 0, nil, fmt.Errorf("runtime: option '%s': '%s' is not a valid duration", IdleTimeoutKey, v)
		}
		idle = d
	}
	byID := map[string]*vertexPlan{}
	for _, v := range g.Vertices {
		p := &vertexPlan{v: v}
		byID[v.ID] = p
		plans = append(plans, p)
		if err := keygroup.Validate(v.Parallelism, maxP); err != nil {
			return nil, 0, 0, nil, fmt.Errorf("runtime: vertex %s: %w", v.ID, err)
		}
	}
	for i, e := range g.Edges {
		if e.Input < 0 {
			return nil, 0, 0, nil, fmt.Errorf("runtime: edge %s -> %s: input %d is negative", e.From, e.To, e.Input)
		}
		byID[e.From].outputs = append(byID[e.From].outputs, edgeRef{i, e})
	}
	for _, p := range plans {
		for _, e := range g.Inputs(p.v.ID) {
			for i, ge := range g.Edges {
				if ge == e {
					p.inputs = append(p.inputs, edgeRef{i, e})
				}
			}
		}
	}
	for _, p := range plans {
		if err := p.resolve(opts, byID); err != nil {
			return nil, 0, 0, nil, fmt.Errorf("runtime: %w", err)
		}
	}
	return plans, maxP, idle, cfg, nil
}

// resolve checks one vertex and looks up its connectors and factories.
func (p *vertexPlan) resolve(opts Options, byID map[string]*vertexPlan) error {
	v := p.v
	first, last := v.Ops[0], v.Ops[len(v.Ops)-1]
	switch {
	case first.Source != nil && len(p.inputs) > 0:
		return fmt.Errorf("vertex %s: starts with source %s but has %d input edge(s)", v.ID, first.ID, len(p.inputs))
	case first.Source == nil && len(p.inputs) == 0:
		return fmt.Errorf("vertex %s: has no inputs and its first operator %s is a %s, not a source", v.ID, first.ID, first.Kind())
	case last.Sink != nil && len(p.outputs) > 0:
		return fmt.Errorf("vertex %s: ends with sink %s but has %d output edge(s)", v.ID, last.ID, len(p.outputs))
	case last.Sink == nil && len(p.outputs) == 0:
		return fmt.Errorf("vertex %s: its output goes nowhere: last operator %s is a %s, not a sink, and no edge leaves it", v.ID, last.ID, last.Kind())
	}
	for i, op := range v.Ops {
		switch kind := op.Kind(); {
		case op.Source != nil:
			if err := p.resolveSource(opts, op); err != nil {
				return fmt.Errorf("vertex %s, source %s (table %s): %w", v.ID, op.ID, op.Source.Table, err)
			}
		case op.Sink != nil:
			if i != len(v.Ops)-1 {
				return fmt.Errorf("vertex %s: sink %s must be last in its chain", v.ID, op.ID)
			}
			if err := p.resolveSink(opts, op); err != nil {
				return fmt.Errorf("vertex %s, sink %s (table %s): %w", v.ID, op.ID, op.Sink.Table, err)
			}
		case op.WatermarkAssigner != nil:
			if err := checkAssigner(op); err != nil {
				return fmt.Errorf("vertex %s, watermark assigner %s: %w", v.ID, op.ID, err)
			}
		default:
			if opts.Operators[kind] == nil {
				return fmt.Errorf("vertex %s, operator %s: no operator factory for kind %q", v.ID, op.ID, kind)
			}
		}
	}
	for _, in := range p.inputs {
		if in.e.Exchange == jobgraph.Single && v.Parallelism != 1 {
			return fmt.Errorf("edge %s -> %s: single exchange into parallelism %d (want 1)", in.e.From, in.e.To, v.Parallelism)
		}
	}
	for _, out := range p.outputs {
		if out.e.Exchange != jobgraph.Hash {
			continue
		}
		n := last.Output.Len()
		for _, k := range out.e.Keys {
			if k < 0 || k >= n {
				return fmt.Errorf("edge %s -> %s: hash key column %d is outside the output of %s (%d columns)", out.e.From, out.e.To, k, last.ID, n)
			}
			if t := last.Output.Fields[k].Type; !hashable(t) {
				return fmt.Errorf("edge %s -> %s: cannot hash key column %d (%s %s)", out.e.From, out.e.To, k, last.Output.Fields[k].Name, t)
			}
		}
	}
	return nil
}

// checkAssigner checks a watermark assigner's spec against its output,
// which is its input passed through.
func checkAssigner(op *jobgraph.OperatorSpec) error {
	w := op.WatermarkAssigner
	if w.Column < 0 || w.Column >= op.Output.Len() {
		return fmt.Errorf("watermark column %d is outside its %d columns", w.Column, op.Output.Len())
	}
	if t := op.Output.Fields[w.Column].Type; t.Kind != types.Timestamp {
		return fmt.Errorf("watermark column %s is %s, not TIMESTAMP(3) or TIMESTAMP_LTZ(3)", op.Output.Fields[w.Column].Name, t)
	}
	if w.DelayMs < 0 {
		return fmt.Errorf("watermark delay %d ms is negative", w.DelayMs)
	}
	return nil
}

// hashable reports whether keygroup.HashColumns supports columns of t.
func hashable(t types.Type) bool {
	switch t.Kind {
	case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
		return true
	}
	return false
}

func tableInfo(ref jobgraph.TableRef) connectors.TableInfo {
	opts := make(map[string]string, len(ref.Options))
	for k, v := range ref.Options {
		opts[strings.ToLower(k)] = v
	}
	return connectors.TableInfo{Name: ref.Table, Schema: ref.Schema, Options: opts, PrimaryKey: ref.PrimaryKey, PartitionKeys: ref.PartitionKeys}
}

func lookup(opts Options, name string) (connectors.Factory, error) {
	if opts.Connectors == nil {
		return nil, fmt.Errorf("no connector registry")
	}
	f, ok := opts.Connectors.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown connector %q (registered: %s)", name, strings.Join(opts.Connectors.Names(), ", "))
	}
	return f, nil
}

func (p *vertexPlan) resolveSource(opts Options, op *jobgraph.OperatorSpec) error {
	spec := op.Source
	f, err := lookup(opts, spec.Connector)
	if err != nil {
		return err
	}
	sf, ok := f.(connectors.SourceFactory)
	ssf, splits := f.(connectors.SplitSourceFactory)
	if !ok && !splits {
		return fmt.Errorf("connector %q cannot be read (it is not a source)", spec.Connector)
	}
	info := tableInfo(spec.TableRef)
	schema := spec.Schema
	if spec.Projection != nil {
		if _, ok := f.(connectors.ProjectableSource); !ok {
			return fmt.Errorf("connector %q cannot read a subset of the table's columns (it is not a ProjectableSource)", spec.Connector)
		}
		if schema, err = project(spec.Schema, spec.Projection); err != nil {
			return err
		}
		info.Schema = schema
	}
	if got := op.Output.Len(); got != schema.Len() {
		return fmt.Errorf("output has %d columns but the source reads %d", got, schema.Len())
	}
	cols := make([]arrow.DataType, schema.Len())
	for i, fld := range schema.Fields {
		if cols[i], err = arrowType(fld.Type); err != nil {
			return fmt.Errorf("column %s: %w", fld.Name, err)
		}
	}
	if w := spec.Watermark; w != nil {
		if w.Column < 0 || w.Column >= schema.Len() {
			return fmt.Errorf("watermark column %d is outside the %d columns read", w.Column, schema.Len())
		}
		if t := schema.Fields[w.Column].Type; t.Kind != types.Timestamp {
			return fmt.Errorf("watermark column %s is %s, not TIMESTAMP(3)", schema.Fields[w.Column].Name, t)
		}
		if w.DelayMs < 0 {
			return fmt.Errorf("watermark delay %d ms is negative", w.DelayMs)
		}
	}
	p.sourceSchema, p.sourceCols = schema, cols
	if dl := spec.DeadLetter; dl != nil {
		df, err := lookup(opts, dl.Connector)
		if err != nil {
			return fmt.Errorf("dead-letter table %s: %w", dl.Table, err)
		}
		sf, ok := df.(connectors.SinkFactory)
		if !ok {
			return fmt.Errorf("dead-letter table %s: connector %q cannot be written", dl.Table, dl.Connector)
		}
		if p.deadLetter, err = sf.NewSink(tableInfo(*dl)); err != nil {
			return fmt.Errorf("dead-letter table %s: connector %q: %w", dl.Table, dl.Connector, err)
		}
	}
	if splits {
		ss, err := ssf.NewSplitSource(info)
		if err != nil {
			return fmt.Errorf("connector %q: %w", spec.Connector, err)
		}
		if ss != nil {
			p.splitSource, p.source = ss, splitStandIn{ss}
			return nil
		}
		if !ok {
			return fmt.Errorf("connector %q returned no split source", spec.Connector)
		}
	}
	src, err := sf.NewSource(info)
	if err != nil {
		return fmt.Errorf("connector %q: %w", spec.Connector, err)
	}
	if src == nil {
		return fmt.Errorf("connector %q returned no source", spec.Connector)
	}
	p.source = src
	return nil
}

// splitStandIn stands for a split source where a connectors.Source is
// expected: it is restorable (positions are the splits), and its readers
// are opened by the subtask itself (openSource), never through it.
type splitStandIn struct{ ss connectors.SplitSource }

func (s splitStandIn) Bounded() bool { return s.ss.Bounded() }

func (s splitStandIn) Reader(context.Context, connectors.ReaderContext) (connectors.Reader, error) {
	return nil, fmt.Errorf("runtime: a split source is read through its split reader")
}

func (s splitStandIn) RestoreReader(context.Context, connectors.ReaderContext, [][]byte) (connectors.Reader, error) {
	return nil, fmt.Errorf("runtime: a split source is restored through its split coordinator")
}

// project returns the columns proj of s: indexes in range, ascending.
func project(s types.Schema, proj []int) (types.Schema, error) {
	if len(proj) == 0 {
		return types.Schema{}, fmt.Errorf("projection reads no column")
	}
	out := types.Schema{Fields: make([]types.Field, len(proj))}
	for i, c := range proj {
		if c < 0 || c >= s.Len() {
			return types.Schema{}, fmt.Errorf("projection column %d is outside the table's %d columns", c, s.Len())
		}
		if i > 0 && c <= proj[i-1] {
			return types.Schema{}, fmt.Errorf("projection %v is not in table order", proj)
		}
		out.Fields[i] = s.Fields[c]
	}
	return out, nil
}

func (p *vertexPlan) resolveSink(opts Options, op *jobgraph.OperatorSpec) error {
	spec := op.Sink
	f, err := lookup(opts, spec.Connector)
	if err != nil {
		return err
	}
	sf, ok := f.(connectors.SinkFactory)
	if !ok {
		return fmt.Errorf("connector %q cannot be written (it is not a sink)", spec.Connector)
	}
	info := tableInfo(spec.TableRef)
	info.Changelog = string(spec.Changelog)
	sink, err := sf.NewSink(info)
	if err != nil {
		return fmt.Errorf("connector %q: %w", spec.Connector, err)
	}
	if sink == nil {
		return fmt.Errorf("connector %q returned no sink", spec.Connector)
	}
	p.sink = sink
	return nil
}

// arrowType is types.Type.Arrow without its panic on an unknown kind.
func arrowType(t types.Type) (dt arrow.DataType, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("type %s has no Arrow type", t)
		}
	}()
	if t.Kind == types.Null || t.Kind == types.Interval {
		return nil, fmt.Errorf("type %s cannot be a column type", t)
	}
	return t.Arrow(), nil
}

// channelIDs returns the input channels of subtask i of p, in gate order,
// with the operator input each one feeds.
func (p *vertexPlan) channelIDs(plans map[string]*vertexPlan, i int) ([]exchange.ChannelID, []int) {
	var ids []exchange.ChannelID
	var inputs []int
	for _, in := range p.inputs {
		from := plans[in.e.From].v.Parallelism
		for j := 0; j < from; j++ {
			if in.e.Exchange == jobgraph.Forward && j != i {
				continue
			}
			ids = append(ids, exchange.ChannelID{Edge: in.index, From: j, To: i})
			inputs = append(inputs, in.e.Input)
		}
	}
	return ids, inputs
}

// targets returns the consumer subtasks that producer subtask i sends to
// over edge out, in the order the Router wants them.
func targets(out edgeRef, to *jobgraph.Vertex, i int) []int {
	switch out.e.Exchange {
	case jobgraph.Forward:
		return []int{i}
	case jobgraph.Single:
		return []int{0}
	}
	ts := make([]int, to.Parallelism)
	for j := range ts {
		ts[j] = j
	}
	return ts
}
