package functions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/sql/analyze"
	"github.com/eddy-streaming/eddy/sql/parse"
	"github.com/eddy-streaming/eddy/udf"
)

// ddl is the table every case selects from.
const ddl = `CREATE TABLE t (s STRING, v VARCHAR(5), i INT, b BIGINT, d DOUBLE, m DECIMAL(10, 2), ts TIMESTAMP(3), bo BOOLEAN)
WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv');
`

// testFunctions are the user-defined functions the cases may call.
func testFunctions(t testing.TB) *udf.Registry {
	reg := udf.NewRegistry()
	for _, f := range []udf.Function{
		udf.ScalarFunc2("count_char", func(s, c string) int64 { return int64(strings.Count(s, c)) }),
		udf.ScalarFunc1("half", func(x float64) float64 { return x / 2 }),
		udf.AggregateFunc1("longest", udf.Agg1[string, string, string]{
			Add:    func(s *string, x string) { *s = max(*s, x) },
			Merge:  func(s, o *string) { *s = max(*s, *o) },
			Result: func(s *string) string { return *s },
		}),
		udf.TableFunc1("words", func(s string) []string { return strings.Fields(s) }),
	} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// TestGolden runs testdata/*. Commands:
//
//	type   SELECT <input> FROM t: prints the bound expression and its type
//	error  the same, printing the error as LINE:COL: message (the line of
//	       the expression is 1)
func TestGolden(t *testing.T) {
	funcs := testFunctions(t)
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			text := ddl + "SELECT " + strings.TrimSpace(d.Input) + " AS x FROM t"
			script, err := parse.Parse("test.sql", text)
			var ls *logical.Script
			if err == nil {
				ls, err = analyze.AnalyzeWith(context.Background(), script, analyze.Env{Connectors: builtin.Registry(), Functions: funcs})
			}
			switch d.Cmd {
			case "type":
				if err != nil {
					t.Fatalf("%s: %v", d.Pos, err)
				}
				return formatProject(t, ls)
			case "error":
				if err == nil {
					t.Fatalf("%s: expected an error, got\n%s", d.Pos, formatProject(t, ls))
				}
				var perr *parse.Error
				if !errors.As(err, &perr) {
					t.Fatalf("%s: %T is not a *parse.Error: %v", d.Pos, err, err)
				}
				return fmt.Sprintf("%d:%d: %s\n", perr.Pos.Line-2, perr.Pos.Col-len("SELECT "), perr.Msg)
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}

// formatProject renders the expression of the SELECT's projection.
func formatProject(t *testing.T, ls *logical.Script) string {
	var n logical.Node = ls.Sinks[0]
	for n != nil {
		if p, ok := n.(*logical.Project); ok {
			in := p.Input.Schema()
			names := make([]string, len(in.Fields))
			for i, f := range in.Fields {
				names[i] = f.Name
			}
			return fmt.Sprintf("%s\n%s\n", p.Exprs[0].Type, explain.Expr(p.Exprs[0], names))
		}
		ins := n.Inputs()
		if len(ins) == 0 {
			break
		}
		n = ins[0]
	}
	t.Fatalf("no projection in the plan")
	return ""
}
