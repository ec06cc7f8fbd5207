package analyze

import (
	"context"
	"errors"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/parse"
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

// analyzeSQL parses and analyzes a script.
func analyzeSQL(t testing.TB, reg *connectors.Registry, file, text string) (*logical.Script, error) {
	t.Helper()
	script, err := parse.Parse(file, text)
	if err != nil {
		return nil, err
	}
	return Analyze(context.Background(), script, reg)
}
