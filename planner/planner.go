package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/physical"
	"github.com/eddy-streaming/eddy/planner/plan"
	"github.com/eddy-streaming/eddy/sql/analyze"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// Options configures a compilation: job name, parallelism, max parallelism
// and the connector registry (see plan.Options).
type Options = plan.Options

// Plan is a compiled script: the job graph and the plans behind it, with
// Explain (see plan.Plan).
type Plan = plan.Plan

// Compile parses, analyzes and plans a SQL script. file names the script in
// error messages. Errors about the SQL are *parse.Error, positioned in text;
// those of the parser and analyzer pass through unchanged.
func Compile(ctx context.Context, file, text string, opts Options) (*Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	script, err := parse.Parse(file, text)
	if err != nil {
		return nil, err
	}
	ls, err := analyze.AnalyzeWith(ctx, script, analyze.Env{Connectors: opts.Registry, Functions: opts.Functions})
	if err != nil {
		return nil, err
	}
	p, err := plan.Build(ctx, file, ls, opts)
	if err != nil {
		var pe *planerr.Error
		if errors.As(err, &pe) {
			return nil, &parse.Error{File: pe.File, Pos: parse.Pos{Line: pe.Pos.Line, Col: pe.Pos.Col}, Msg: pe.Msg}
		}
		var oe *physical.OptionError
		if errors.As(err, &oe) {
			// The last SET of the key is the one in effect.
			for i := len(script.Stmts) - 1; i >= 0; i-- {
				if s, ok := script.Stmts[i].(*parse.Set); ok && strings.EqualFold(strings.TrimSpace(s.Key), strings.TrimSpace(oe.Key)) {
					return nil, &parse.Error{File: file, Pos: s.ValuePos, Msg: fmt.Sprintf("SET '%s' = '%s': %s", oe.Key, oe.Value, oe.Why)}
				}
			}
		}
		return nil, err
	}
	return p, nil
}
