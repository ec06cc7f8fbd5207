package plan

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/chain"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/lcheck"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/planner/optimize"
	"github.com/eddy-streaming/eddy/planner/physical"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/udf"
)

// Options configures a compilation.
type Options struct {
	// JobName names the job graph; the script's file name when empty.
	JobName string
	// Parallelism is the number of subtasks of every operator (1 when 0).
	// Operators that must see all rows run at parallelism 1.
	Parallelism int
	// MaxParallelism is the number of key groups keyed state is split into
	// (jobgraph.DefaultMaxParallelism when 0). It must be at least
	// Parallelism.
	MaxParallelism int
	// Registry holds the connectors tables may use.
	Registry *connectors.Registry
	// Functions holds the user-defined functions queries may call.
	Functions *udf.Registry
}

// Plan is a compiled script: the job graph the engine runs and the plans it
// was derived from, for EXPLAIN.
type Plan struct {
	// Graph is the job, validated; nil when the script has only EXPLAIN
	// statements, and so no job to run.
	Graph *jobgraph.Graph
	// Logical is the plan as analyzed.
	Logical *logical.Script
	// Optimized is the logical plan after the rewrite rules.
	Optimized *logical.Script
	// Rules are the rewrite rules that fired, in order.
	Rules []string
	// Physical is the operator DAG before chaining.
	Physical *physical.Plan
	// Parallelism and MaxParallelism are the values used.
	Parallelism, MaxParallelism int
	// Explains holds the output of each of the script's EXPLAIN
	// statements, in order: the explained statement planned as a job of
	// its own, rendered as Explain renders a job.
	Explains []string
}

// Build plans an analyzed script. file names the script in error messages.
// s is not modified. Errors about SQL constructs are positioned
// (*planerr.Error, which planner.Compile turns into *parse.Error).
func Build(ctx context.Context, file string, s *logical.Script, opts Options) (plan *Plan, err error) {
	defer func() {
		// Planning bad input must never crash the caller; a panic here is
		// a planner bug, reported as an error.
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("planner: internal error: %v", r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	p, maxP, err := parallelism(opts)
	if err != nil {
		return nil, err
	}
	if err := lcheck.Script(s); err != nil {
		return nil, err
	}
	for _, e := range s.Explains {
		if e == nil {
			return nil, fmt.Errorf("planner: invalid logical plan: nil EXPLAIN")
		}
		if err := lcheck.Script(&logical.Script{Sinks: e.Sinks}); err != nil {
			return nil, err
		}
	}
	if len(s.Sinks) == 0 && len(s.Explains) == 0 {
		return nil, &planerr.Error{File: file, Pos: logical.Pos{Line: 1, Col: 1}, Msg: "the script has no INSERT INTO or SELECT statement: there is no job to run"}
	}
	name := opts.JobName
	if name == "" {
		name = file
	}
	var explains []string
	for _, e := range s.Explains {
		if len(e.Sinks) == 0 {
			return nil, &planerr.Error{File: file, Pos: e.At, Msg: "EXPLAIN of a statement that runs no query"}
		}
		sub, err := stages(file, &logical.Script{Sinks: e.Sinks, Config: s.Config}, opts, p, maxP, name)
		if err != nil {
			return nil, err
		}
		explains = append(explains, sub.explain(explainOptions(e.Details))+jsonPlan(sub, e.Details))
	}
	if len(s.Sinks) == 0 {
		return &Plan{Logical: s, Optimized: &logical.Script{Config: s.Config}, Parallelism: p, MaxParallelism: maxP, Explains: explains}, nil
	}
	plan, err = stages(file, s, opts, p, maxP, name)
	if err != nil {
		return nil, err
	}
	plan.Explains = explains
	return plan, nil
}

// stages runs the planner's stages on a checked script's sinks.
func stages(file string, s *logical.Script, opts Options, p, maxP int, name string) (*Plan, error) {
	opt := optimize.Script(s)
	phys, err := physical.Build(opt.Script, physical.Options{Parallelism: p, Registry: opts.Registry})
	if err != nil {
		return nil, positioned(file, err)
	}
	g, err := chain.Graph(phys, chain.Options{Name: name, MaxParallelism: maxP, Config: s.Config})
	if err != nil {
		return nil, err
	}
	return &Plan{
		Graph:          g,
		Logical:        s,
		Optimized:      opt.Script,
		Rules:          opt.Fired,
		Physical:       phys,
		Parallelism:    p,
		MaxParallelism: maxP,
	}, nil
}

// explainOptions turns EXPLAIN details into rendering options:
// CHANGELOG_MODE shows what kinds of changes each operator emits.
func explainOptions(details []string) explain.Options {
	var o explain.Options
	for _, d := range details {
		if strings.EqualFold(d, "CHANGELOG_MODE") {
			o.ChangelogMode = true
		}
	}
	return o
}

// jsonPlan renders the job graph as JSON for EXPLAIN JSON_EXECUTION_PLAN,
// and nothing for other details.
func jsonPlan(p *Plan, details []string) string {
	for _, d := range details {
		if strings.EqualFold(d, "JSON_EXECUTION_PLAN") {
			data, err := p.Graph.Marshal()
			if err != nil {
				return "\n== JSON Execution Plan ==\n" + err.Error() + "\n"
			}
			return "\n== JSON Execution Plan ==\n" + string(data) + "\n"
		}
	}
	return ""
}

func parallelism(opts Options) (p, maxP int, err error) {
	p, maxP = opts.Parallelism, opts.MaxParallelism
	if p == 0 {
		p = 1
	}
	if maxP == 0 {
		maxP = jobgraph.DefaultMaxParallelism
	}
	if p < 1 {
		return 0, 0, fmt.Errorf("planner: parallelism must be at least 1, got %d", opts.Parallelism)
	}
	if p > maxP {
		return 0, 0, fmt.Errorf("planner: parallelism %d exceeds max parallelism %d (the number of key groups)", p, maxP)
	}
	if err := keygroup.Validate(p, maxP); err != nil {
		return 0, 0, fmt.Errorf("planner: %w", err)
	}
	return p, maxP, nil
}

// positioned names file in a planning error about SQL.
func positioned(file string, err error) error {
	var pe *planerr.Error
	if errors.As(err, &pe) {
		c := *pe
		c.File = file
		return &c
	}
	return err
}

// Explain renders the plan: the logical plan as analyzed and after the
// rewrite rules, and the physical DAG of vertices, operators and exchanges.
// A script of EXPLAIN statements alone has no job; its Explain says so
// (its statements' plans are in Explains).
func (p *Plan) Explain() string { return p.explain(explain.Options{}) }

// ExplainVerbose is Explain with every node's output columns and types.
func (p *Plan) ExplainVerbose() string { return p.explain(explain.Options{Types: true}) }

func (p *Plan) explain(opts explain.Options) string {
	if p.Graph == nil {
		return "no job: the script has only EXPLAIN statements\n"
	}
	var sb strings.Builder
	if cfg := explain.Config(p.Logical.Config); cfg != "" {
		sb.WriteString("== Options ==\n" + cfg + "\n")
	}
	sb.WriteString("== Logical Plan ==\n")
	sb.WriteString(explain.Logical(p.Logical, opts))
	sb.WriteString("\n== Optimized Logical Plan ==\n")
	sb.WriteString(explain.Logical(p.Optimized, opts))
	fmt.Fprintf(&sb, "\n== Physical DAG (parallelism %d) ==\n", p.Parallelism)
	sb.WriteString(explain.Graph(p.Graph, opts))
	return sb.String()
}
