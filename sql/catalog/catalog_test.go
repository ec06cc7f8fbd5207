package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/sql/parse"
)

type fake struct {
	name     string
	opts     []connectors.OptionSpec
	validate func(connectors.TableInfo) error
}

func (f *fake) Name() string                     { return f.name }
func (f *fake) Options() []connectors.OptionSpec { return f.opts }

type fakeSource struct{ *fake }

func (fakeSource) NewSource(connectors.TableInfo) (connectors.Source, error) {
	return nil, errors.New("fake")
}

type fakeSink struct{ *fake }

func (fakeSink) NewSink(connectors.TableInfo) (connectors.Sink, error) {
	return nil, errors.New("fake")
}

type fakeChecked struct{ fakeSource }

func (f fakeChecked) ValidateTable(info connectors.TableInfo) error { return f.validate(info) }

func testRegistry(t *testing.T) *connectors.Registry {
	reg := connectors.NewRegistry()
	for _, f := range []connectors.Factory{
		fakeSource{&fake{name: "gen", opts: []connectors.OptionSpec{
			{Key: "rows", Type: connectors.OptInt},
			{Key: "mode", Type: connectors.OptEnum, Enum: []string{"fast", "slow"}},
			{Key: "path", Type: connectors.OptString, Required: true},
		}}},
		fakeSink{&fake{name: "print"}},
		fakeChecked{fakeSource{&fake{name: "checked", validate: func(info connectors.TableInfo) error {
			if info.Schema.Index("id") < 0 {
				return errors.New("the table needs a column 'id'")
			}
			if info.Options["connector"] != "checked" {
				return errors.New("options not passed")
			}
			if len(info.PartitionKeys) > 0 {
				return fmt.Errorf("partition keys %v passed", info.PartitionKeys)
			}
			return nil
		}}}},
	} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// TestCatalogGolden runs testdata/catalog: "create" creates the tables and
// views of its input in a fresh catalog and prints them, or the first
// error.
func TestCatalogGolden(t *testing.T) {
	reg := testRegistry(t)
	datadriven.RunTest(t, "testdata/catalog", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "create" {
			t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
		}
		script, err := parse.Parse("ddl.sql", d.Input)
		if err != nil {
			return "parse error: " + err.Error() + "\n"
		}
		cat := New(reg, script.File)
		var sb strings.Builder
		for _, st := range script.Stmts {
			var err error
			switch x := st.(type) {
			case *parse.CreateTable:
				_, err = cat.Create(x)
			case *parse.CreateView:
				// The analyzer derives a view's schema; here every
				// SELECT item is a BIGINT named after its position.
				sel, ok := x.Query.Node.(*ast.SelectStmt)
				if !ok {
					t.Fatalf("%s: the view's query is not a SELECT", d.Pos)
				}
				var schema types.Schema
				for i := range sel.Fields.Fields {
					schema.Fields = append(schema.Fields, types.Field{Name: fmt.Sprintf("c%d", i), Type: types.BigIntType})
				}
				if cat.ViewExists(x) {
					fmt.Fprintf(&sb, "view %s exists: skipped\n", x.Name)
					continue
				}
				var v *View
				if v, err = cat.CreateView(x, schema); err == nil {
					fmt.Fprintf(&sb, "view %s %s temporary=%v\n", v.Name, v.Schema, v.Temporary)
					if got, ok := cat.LookupView(strings.ToUpper(x.Name)); !ok || got != v {
						t.Errorf("%s: LookupView(%q) does not find %s", d.Pos, strings.ToUpper(x.Name), x.Name)
					}
				}
			default:
				t.Fatalf("%s: not a CREATE TABLE or VIEW: %T", d.Pos, st)
			}
			if err != nil {
				var perr *parse.Error
				if !errors.As(err, &perr) {
					t.Fatalf("%s: error %T is not a *parse.Error: %v", d.Pos, err, err)
				}
				return err.Error() + "\n"
			}
		}
		for _, tb := range cat.Tables() {
			fmt.Fprintf(&sb, "%s %s connector=%s source=%v sink=%v\n", tb.Name, tb.Schema, tb.Connector, tb.IsSource(), tb.IsSink())
			if tb.HasComputed() {
				for _, c := range tb.Columns {
					if c.Physical >= 0 {
						fmt.Fprintf(&sb, "  column %s = physical %d\n", c.Name, c.Physical)
					} else {
						fmt.Fprintf(&sb, "  column %s = computed at %s\n", c.Name, c.ExprPos)
					}
				}
			}
			if tb.Watermark != nil {
				fmt.Fprintf(&sb, "  watermark %s - %d ms\n", tb.Schema.Fields[tb.Watermark.Column].Name, tb.Watermark.DelayMs)
			}
			if w := tb.ComputedWatermark; w != nil {
				fmt.Fprintf(&sb, "  watermark on computed %s - %d ms (clause at %s, column at %s)\n", tb.Columns[w.Column].Name, w.DelayMs, w.At, w.ColumnPos)
			}
			if len(tb.PartitionKeys) > 0 {
				fmt.Fprintf(&sb, "  partitioned by %v\n", tb.PartitionKeys)
				if ref := tb.Ref(); fmt.Sprint(ref.PartitionKeys) != fmt.Sprint(tb.PartitionKeys) {
					t.Errorf("%s: Ref has partition keys %v, want %v", d.Pos, ref.PartitionKeys, tb.PartitionKeys)
				}
			}
			keys := make([]string, 0, len(tb.Options))
			for k := range tb.Options {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&sb, "  option %s = %s\n", k, tb.Options[k])
			}
			if got, ok := cat.Lookup(strings.ToUpper(tb.Name)); !ok || got != tb {
				t.Errorf("%s: Lookup(%q) does not find %s", d.Pos, strings.ToUpper(tb.Name), tb.Name)
			}
			ref := tb.Ref()
			ref.Options["connector"] = "changed"
			if tb.Options["connector"] == "changed" {
				t.Errorf("%s: Ref shares its options with the table", d.Pos)
			}
		}
		return sb.String()
	})
}
