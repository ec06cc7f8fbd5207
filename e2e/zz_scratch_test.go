package e2e

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/planner"
)

type ncSink struct {
	mu  sync.Mutex
	bad []string
}

func (c *ncSink) Name() string                      { return "nullcheck" }
func (c *ncSink) Options() []connectors.OptionSpec { return nil }
func (c *ncSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return ncTable{c}, nil
}

type ncTable struct{ c *ncSink }

func (t ncTable) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return ncWriter{t.c}, nil
}

type ncWriter struct{ c *ncSink }

func (w ncWriter) Write(ctx context.Context, b stream.Batch) error {
	for ci, col := range b.Record.Columns() {
		n := 0
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				n++
			}
		}
		if n != col.NullN() {
			w.c.mu.Lock()
			w.c.bad = append(w.c.bad, b.Record.ColumnName(ci))
			w.c.mu.Unlock()
			_ = arrow.Null
		}
	}
	return nil
}
func (w ncWriter) Close(ctx context.Context) error { return nil }
func (w ncWriter) Abort(ctx context.Context) error { return nil }

func TestZZScratchNullN(t *testing.T) {
	for _, wk := range winKinds {
		reg := builtin.Registry()
		r := rand.New(rand.NewPCG(1, 2))
		a := genWRows(r, 2000, 5, 1999)
		rec := wRecord(memory.DefaultAllocator, a)
		reg.Register(&memSource{data: map[string]arrow.RecordBatch{"a": rec, "b": rec}, seed: 3})
		nc := &ncSink{}
		reg.Register(nc)
		script := strings.ReplaceAll(wTableDDL("lt", "a")+plainSQL(wk), "'collect'", "'nullcheck'")
		plan, err := planner.Compile(context.Background(), "test.sql", script, planner.Options{JobName: "x", Parallelism: 2, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := runtime.Run(context.Background(), plan.Graph, runtime.Options{Connectors: reg, Operators: operators.Factories()}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: columns with NullN() != count of IsNull: %v", wk.name, nc.bad)
	}
}
