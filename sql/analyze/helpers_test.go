package analyze

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
	"github.com/eddy-streaming/eddy/udf"
)

// fakeFactory is a connector for tests: a source, a sink or both, with the
// options given.
type fakeFactory struct {
	name     string
	opts     []connectors.OptionSpec
	validate func(connectors.TableInfo) error
}

func (f *fakeFactory) Name() string                     { return f.name }
func (f *fakeFactory) Options() []connectors.OptionSpec { return f.opts }

type fakeSource struct{ *fakeFactory }

func (fakeSource) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return nil, errors.New("fake source")
}

type fakeSink struct{ *fakeFactory }

func (fakeSink) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, errors.New("fake sink")
}

type fakeBoth struct{ *fakeFactory }

func (fakeBoth) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return nil, errors.New("fake source")
}
func (fakeBoth) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, errors.New("fake sink")
}

type fakeValidating struct{ fakeBoth }

func (f fakeValidating) ValidateTable(info connectors.TableInfo) error { return f.validate(info) }

func str(k string) connectors.OptionSpec {
	return connectors.OptionSpec{Key: k, Type: connectors.OptString}
}

// testRegistry registers fakes under the names the project's SQL uses.
func testRegistry(t testing.TB) *connectors.Registry {
	reg := connectors.NewRegistry()
	must := func(f connectors.Factory) {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	must(fakeSource{&fakeFactory{name: "datagen", opts: []connectors.OptionSpec{
		{Key: "stream", Type: connectors.OptEnum, Enum: []string{"gifts", "comments", "likes", "room_events"}, Required: true},
		{Key: "rooms", Type: connectors.OptInt}, {Key: "users", Type: connectors.OptInt},
		{Key: "skew", Type: connectors.OptFloat}, {Key: "number-of-rows", Type: connectors.OptInt},
		{Key: "rows-per-second", Type: connectors.OptInt}, {Key: "event-time.rows-per-second", Type: connectors.OptInt},
		{Key: "max-out-of-orderness", Type: connectors.OptDuration}, {Key: "seed", Type: connectors.OptInt},
	}}})
	must(fakeSource{&fakeFactory{name: "memory", opts: []connectors.OptionSpec{str("dataset")}}})
	must(fakeSink{&fakeFactory{name: "collect"}})
	must(fakeSink{&fakeFactory{name: "print"}})
	must(fakeSink{&fakeFactory{name: "blackhole"}})
	must(fakeBoth{&fakeFactory{name: "filesystem", opts: []connectors.OptionSpec{
		{Key: "path", Type: connectors.OptString, Required: true},
		{Key: "format", Type: connectors.OptEnum, Enum: []string{"csv", "json"}, Required: true},
		{Key: "ignore-parse-errors", Type: connectors.OptBool},
	}}})
	must(fakeValidating{fakeBoth{&fakeFactory{name: "checked", validate: func(info connectors.TableInfo) error {
		if info.Schema.Index("id") < 0 {
			return errors.New("the table needs a column 'id'")
		}
		return nil
	}}}})
	return reg
}

// analyzeSQL parses and analyzes a script, with the user-defined
// functions of testFuncs.
func analyzeSQL(t testing.TB, reg *connectors.Registry, file, text string) (*logical.Script, error) {
	t.Helper()
	script, err := parse.Parse(file, text)
	if err != nil {
		return nil, err
	}
	return AnalyzeWith(context.Background(), script, Env{Connectors: reg, Functions: testFuncs(t)})
}

// The user-defined functions the tests call. Only their type checks run
// in the analyzer.

type fakeScalar struct{ name string }

func (f fakeScalar) Name() string { return f.name }
func (f fakeScalar) ResultType(args []types.Type) (types.Type, error) {
	if len(args) != 2 || args[0].Kind != types.String || args[1].Kind != types.String {
		return types.Type{}, errors.New("takes two STRING arguments")
	}
	return types.Type{Kind: types.BigInt, NotNull: args[0].NotNull && args[1].NotNull}, nil
}
func (fakeScalar) Eval(context.Context, []arrow.Array, int, memory.Allocator) (arrow.Array, error) {
	return nil, errors.New("not in the analyzer")
}

type fakeAgg struct {
	name   string
	result func(args []types.Type) (types.Type, error)
}

func (f fakeAgg) Name() string                                     { return f.name }
func (f fakeAgg) ResultType(args []types.Type) (types.Type, error) { return f.result(args) }
func (fakeAgg) NewAccumulator([]types.Type) udf.Accumulator        { return nil }

type fakeTable struct{ name string }

func (f fakeTable) Name() string { return f.name }
func (f fakeTable) ResultSchema(args []types.Type) (types.Schema, error) {
	if len(args) < 1 || len(args) > 2 || args[0].Kind != types.String {
		return types.Schema{}, errors.New("takes a STRING and an optional separator")
	}
	return types.Schema{Fields: []types.Field{
		{Name: "word", Type: types.Type{Kind: types.String, NotNull: true}},
		{Name: "pos", Type: types.IntType},
	}}, nil
}
func (fakeTable) Eval(context.Context, []arrow.Array, int, memory.Allocator) (arrow.RecordBatch, []int32, error) {
	return nil, nil, errors.New("not in the analyzer")
}

// testFuncs registers count_char (scalar), weighted_avg and my_count
// (aggregates) and split (table).
func testFuncs(t testing.TB) *udf.Registry {
	r := udf.NewRegistry()
	for _, f := range []udf.Function{
		fakeScalar{name: "count_char"},
		fakeAgg{name: "weighted_avg", result: func(args []types.Type) (types.Type, error) {
			if len(args) != 2 || !args[0].IsNumeric() || !args[1].IsNumeric() {
				return types.Type{}, errors.New("takes a numeric value and a numeric weight")
			}
			return types.DoubleType, nil
		}},
		fakeAgg{name: "my_count", result: func([]types.Type) (types.Type, error) {
			return types.Type{Kind: types.BigInt, NotNull: true}, nil
		}},
		fakeTable{name: "split"},
	} {
		if err := r.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return r
}
