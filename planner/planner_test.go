package planner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/planner"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/sql/parse"
)

// fake is a connector factory for planning only: it accepts a few options
// and never opens a source or sink.
type fake struct {
	name string
	opts []connectors.OptionSpec
}

func (f *fake) Name() string                     { return f.name }
func (f *fake) Options() []connectors.OptionSpec { return f.opts }

type fakeSource struct{ fake }

func (f *fakeSource) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return nil, fmt.Errorf("%s: planning-only connector", f.name)
}

// fakeProjectable is a source that can read any subset of a table's
// columns (connectors.ProjectableSource).
type fakeProjectable struct{ fakeSource }

func (f *fakeProjectable) CanProject(connectors.TableInfo) bool { return true }

type fakeSink struct{ fake }

func (f *fakeSink) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, fmt.Errorf("%s: planning-only connector", f.name)
}

// fakeUpdating is a sink that takes updates (connectors.UpdatingSink), as
// print does.
type fakeUpdating struct{ fakeSink }

func (f *fakeUpdating) AcceptsUpdates(connectors.TableInfo) error { return nil }

// fakeFiles is the filesystem connector as the planner sees it: a source
// (a 'changelog-json' table carries updates; any table serves lookups) and
// a sink that takes updates in 'changelog-json' only.
type fakeFiles struct{ fakeSource }

func (f *fakeFiles) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, fmt.Errorf("%s: planning-only connector", f.name)
}

func (f *fakeFiles) AcceptsUpdates(info connectors.TableInfo) error {
	if strings.EqualFold(info.Options["format"], "changelog-json") {
		return nil
	}
	return fmt.Errorf("format '%s' writes inserts only: use 'format' = 'changelog-json' for updates", info.Options["format"])
}

// registry serves 'events' (a source with an optional 'rows' option),
// 'projectable' (a source that reads only the columns a job uses), 'out'
// (an append-only sink), 'print' (a sink that takes updates) and
// 'filesystem' (source, lookup table and sink).
func registry(t testing.TB) *connectors.Registry {
	reg := connectors.NewRegistry()
	for _, f := range []connectors.Factory{
		&fakeSource{fake{"events", []connectors.OptionSpec{{Key: "rows", Type: connectors.OptInt}}}},
		&fakeProjectable{fakeSource{fake{"projectable", nil}}},
		&fakeSink{fake{"out", nil}},
		&fakeUpdating{fakeSink{fake{"print", nil}}},
		&fakeFiles{fakeSource{fake{"filesystem", []connectors.OptionSpec{
			{Key: "path", Type: connectors.OptString, Required: true},
			{Key: "format", Type: connectors.OptEnum, Enum: []string{"csv", "json", "changelog-json"}, Required: true},
			{Key: "lookup.cache.ttl", Type: connectors.OptDuration},
			{Key: "lookup.cache.max-rows", Type: connectors.OptInt},
		}}}},
	} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func compile(t testing.TB, text string, parallelism int) (*planner.Plan, error) {
	return planner.Compile(context.Background(), "test.sql", text, planner.Options{
		JobName:     "test",
		Parallelism: parallelism,
		Registry:    registry(t),
	})
}

// TestSQL compiles the scripts in testdata/sql and checks the results
// (rewrite with -rewrite). Commands take the script as input and an
// optional parallelism=N:
//
//	explain [verbose]  Plan.Explain (ExplainVerbose)
//	explains           the output of the script's EXPLAIN statements
//	jobgraph           the serialized graph, with raw column indices
//	optimize           the rewrite rules that fired and the optimized plan
//	error              the error, as the CLI prints it
//
// A noeval argument keeps a block out of TestSQLPlansComputeTheirLogicalMeaning
// (processing time and user-defined functions have no row-at-a-time meaning
// there).
func TestSQL(t *testing.T) {
	datadriven.Walk(t, "testdata/sql", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			parallelism := 1
			d.MaybeScanArgs(t, "parallelism", &parallelism)
			p, err := compile(t, d.Input, parallelism)
			if d.Cmd == "error" {
				if err == nil {
					return "no error\n"
				}
				var pe *parse.Error
				if !errors.As(err, &pe) {
					return "not a *parse.Error: " + err.Error() + "\n"
				}
				return err.Error() + "\n"
			}
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			switch d.Cmd {
			case "explain":
				if d.HasArg("verbose") {
					return p.ExplainVerbose()
				}
				return p.Explain()
			case "explains":
				return strings.Join(p.Explains, "\n")
			case "jobgraph":
				return explain.Summary(p.Graph)
			case "optimize":
				return fmt.Sprintf("rules: %s\n%s", strings.Join(p.Rules, ", "), explain.Logical(p.Optimized, explain.Options{}))
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}
