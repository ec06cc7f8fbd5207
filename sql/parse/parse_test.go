package parse

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// TestDataDriven runs the golden files in testdata/golden:
//
//	parse [exprs]   the input parses; print a summary of each statement
//	                (exprs: also every TiDB expression node with the user
//	                position it maps to)
//	error           the input fails; print the error
//
// Regenerate with go test ./sql/parse -run TestDataDriven -rewrite.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/golden", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			script, err := Parse("test.sql", d.Input)
			switch d.Cmd {
			case "parse":
				if err != nil {
					return "unexpected error: " + err.Error() + "\n"
				}
				return summarize(t, script, d.HasArg("exprs"))
			case "error":
				if err == nil {
					return "unexpected success\n" + summarize(t, script, false)
				}
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error is %T, not *Error: %v", err, err)
				}
				return err.Error() + "\n"
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

// at renders a position with the user's token there, e.g. room_id@2:3.
func at(src string, p Pos) string {
	return fmt.Sprintf("%s@%s", tokenAt(src, p.Offset), p)
}

// tokenAt returns the raw token of src that starts at off (shortened).
func tokenAt(src string, off int) string {
	if off >= len(src) {
		return "<end>"
	}
	toks, _, _ := lex(src[off:])
	if len(toks) == 0 || toks[0].start != 0 {
		return fmt.Sprintf("<not a token: %q>", src[off:min(len(src), off+5)])
	}
	s := src[off : off+toks[0].end]
	if len(s) > 20 {
		s = s[:17] + "..."
	}
	return s
}

func summarize(t *testing.T, s *Script, exprs bool) string {
	var b strings.Builder
	for _, st := range s.Stmts {
		summarizeStmt(t, &b, s.Text, st, exprs)
	}
	return b.String()
}

func summarizeStmt(t *testing.T, b *strings.Builder, src string, st Stmt, exprs bool) {
	{
		if st.Source() != src[st.Start().Offset:st.Start().Offset+len(st.Source())] {
			t.Errorf("statement source %q is not the text at its start", st.Source())
		}
		switch x := st.(type) {
		case *CreateTable:
			fmt.Fprintf(b, "create table %s", at(src, x.NamePos))
			if x.IfNotExists {
				b.WriteString(" if not exists")
			}
			if x.Comment != "" {
				fmt.Fprintf(b, " comment %q", x.Comment)
			}
			fmt.Fprintf(b, " (statement %s)\n", at(src, x.At))
			for _, c := range x.Columns {
				if c.Computed() {
					fmt.Fprintf(b, "  computed column %q %s as %s: %s\n", c.Name, at(src, c.At), at(src, c.TypePos), restore(t, c.Expr))
					query(t, b, src, c.Query, exprs)
					continue
				}
				fmt.Fprintf(b, "  column %q %s: %s type %s\n", c.Name, at(src, c.At), c.Type, at(src, c.TypePos))
			}
			if w := x.Watermark; w != nil {
				fmt.Fprintf(b, "  watermark %s for %q %s as %s: %s\n", at(src, w.At), w.Column, at(src, w.ColumnPos),
					at(src, w.ExprPos), restore(t, w.Expr))
				query(t, b, src, w.Query, exprs)
			}
			if x.PrimaryKey != nil {
				b.WriteString("  primary key")
				for _, id := range x.PrimaryKey {
					fmt.Fprintf(b, " %q %s", id.Name, at(src, id.At))
				}
				b.WriteString("\n")
			}
			if x.PartitionKeys != nil {
				b.WriteString("  partitioned by")
				for _, id := range x.PartitionKeys {
					fmt.Fprintf(b, " %q %s", id.Name, at(src, id.At))
				}
				b.WriteString("\n")
			}
			for _, o := range x.Options {
				fmt.Fprintf(b, "  option %q = %q %s %s\n", o.Key, o.Value, at(src, o.At), at(src, o.ValuePos))
			}
		case *Insert:
			fmt.Fprintf(b, "insert into %q %s (statement %s)\n", x.Table, at(src, x.TablePos), at(src, x.At))
			for _, c := range x.Columns {
				fmt.Fprintf(b, "  column %q %s\n", c.Name, at(src, c.At))
			}
			query(t, b, src, x.Query, exprs)
		case *Select:
			fmt.Fprintf(b, "select (statement %s)\n", at(src, x.At))
			query(t, b, src, x.Query, exprs)
		case *Set:
			fmt.Fprintf(b, "set %q = %q %s %s (statement %s)\n", x.Key, x.Value, at(src, x.KeyPos), at(src, x.ValuePos), at(src, x.At))
		case *CreateView:
			fmt.Fprintf(b, "create view %s", at(src, x.NamePos))
			if x.Temporary {
				b.WriteString(" temporary")
			}
			if x.IfNotExists {
				b.WriteString(" if not exists")
			}
			if x.Comment != "" {
				fmt.Fprintf(b, " comment %q", x.Comment)
			}
			fmt.Fprintf(b, " (statement %s)\n", at(src, x.At))
			for _, c := range x.Columns {
				fmt.Fprintf(b, "  column %q %s\n", c.Name, at(src, c.At))
			}
			query(t, b, src, x.Query, exprs)
		case *Explain:
			fmt.Fprintf(b, "explain (statement %s)", at(src, x.At))
			for _, d := range x.Details {
				fmt.Fprintf(b, " %s %s", d.Name, at(src, d.At))
			}
			b.WriteString("\n")
			summarizeStmt(t, b, src, x.Stmt, exprs)
		default:
			t.Fatalf("unknown statement %T", st)
		}
	}
}

func restore(t *testing.T, n ast.Node) string {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|format.RestoreNameBackQuotes, &sb)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return sb.String()
}

func query(t *testing.T, b *strings.Builder, src string, q *Query, exprs bool) {
	fmt.Fprintf(b, "  query %s\n", at(src, q.Start()))
	fmt.Fprintf(b, "    rewritten: %s\n", strings.Join(strings.Fields(q.Text()), " "))
	fmt.Fprintf(b, "    ast: %s\n", restore(t, q.Node))
	names := make([]string, 0, len(q.TVFs))
	for n := range q.TVFs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w := q.TVFs[n]
		fmt.Fprintf(b, "    tvf %s = %s %s table %q %s", n, w.Kind, at(src, w.At), w.Table, at(src, w.TablePos))
		if len(w.PartitionBy) > 0 {
			b.WriteString(" partition by")
			for _, p := range w.PartitionBy {
				fmt.Fprintf(b, " %q %s", p.Name, at(src, p.At))
			}
		}
		fmt.Fprintf(b, " timecol %q %s args", w.TimeCol.Name, at(src, w.TimeCol.At))
		for _, a := range w.Args {
			fmt.Fprintf(b, " %dms %s", a.Ms, at(src, a.At))
		}
		b.WriteString("\n")
	}
	// Casts, as the analyzer finds them: by walking the AST.
	var casts []string
	var intervals []string
	var nulls []string
	var nodes []string
	var filters []string
	var visit visitor
	visit = visitor(func(n ast.Node) {
		if c, ok := n.(*ast.FuncCastExpr); ok {
			if ct, ok := q.CastType(c); ok {
				try := ""
				if ct.Try {
					try = "try "
				}
				casts = append(casts, fmt.Sprintf("    %scast at %s to %s %s\n", try, at(src, q.PosOfOffset(c.OriginTextPosition())), ct.Type, at(src, ct.At)))
			} else {
				casts = append(casts, fmt.Sprintf("    unmarked cast at %s\n", at(src, q.PosOfOffset(c.OriginTextPosition()))))
			}
		}
		if e, ok := n.(ast.ExprNode); ok {
			if iv, ok := q.Interval(e); ok {
				intervals = append(intervals, fmt.Sprintf("    interval %dms %s (value %s)\n", iv.Ms, at(src, iv.At), at(src, q.PosOfOffset(e.OriginTextPosition()))))
			}
			if exprs && e.OriginTextPosition() > 0 {
				nodes = append(nodes, fmt.Sprintf("    %s %s\n", strings.TrimPrefix(reflect.TypeOf(n).String(), "*"), at(src, q.PosOfOffset(e.OriginTextPosition()))))
			}
		}
		if it, ok := n.(*ast.ByItem); ok {
			if nf, ok := q.NullsFirst[it.Expr.OriginTextPosition()]; ok {
				nulls = append(nulls, fmt.Sprintf("    order key %s nulls first=%v\n", at(src, q.PosOfOffset(it.Expr.OriginTextPosition())), nf))
			}
		}
		if f, ok := n.(*ast.SelectField); ok && exprs {
			nodes = append(nodes, fmt.Sprintf("    field %s\n", at(src, q.PosOfOffset(f.Offset))))
		}
		if a, ok := n.(*ast.AggregateFuncExpr); ok {
			if c, ok := q.AggFilter(a); ok {
				filters = append(filters, fmt.Sprintf("    filter of %s %s: %s %s\n", restore(t, a), at(src, q.PosOfOffset(a.OriginTextPosition())), restore(t, c), at(src, q.PosOfOffset(c.OriginTextPosition()))))
				c.Accept(visit) // the condition is not part of the tree
			}
		}
		if ts, ok := n.(*ast.TableSource); ok {
			if c, tf, ok := q.TableFuncOf(ts); ok {
				alias := ts.AsName.O
				if IsPlaceholder(alias) {
					alias = "(none)"
				}
				cols := ""
				for _, cn := range ts.ColumnNames {
					cols += " " + cn.O
				}
				filters = append(filters, fmt.Sprintf("    table function %q %s name %s call %s alias %s%s (alias written %v)\n", tf.Name, at(src, tf.At), at(src, tf.NamePos), at(src, q.PosOfOffset(c.OriginTextPosition())), alias, cols, tf.Alias))
			}
		}
		if tn, ok := n.(*ast.TableName); ok {
			if st, ok := q.SystemTime(tn); ok {
				filters = append(filters, fmt.Sprintf("    table %s for system_time %s as of %s %s\n", tn.Name.O, at(src, st.At), restore(t, st.Column), at(src, q.PosOfOffset(st.Column.OriginTextPosition()))))
			}
		}
		if sel, ok := n.(*ast.SelectStmt); ok {
			for _, h := range q.Hints(sel) {
				opts := ""
				for _, o := range h.Options {
					opts += fmt.Sprintf(" %q %s = %q %s", o.Key, at(src, o.At), o.Value, at(src, o.ValuePos))
				}
				filters = append(filters, fmt.Sprintf("    hint %s %s%s\n", h.Name, at(src, h.At), opts))
			}
		}
		if j, ok := n.(*ast.Join); ok && q.IsFullJoin(j) {
			filters = append(filters, fmt.Sprintf("    full join on %s\n", at(src, q.PosOfOffset(j.On.Expr.OriginTextPosition()))))
		}
	})
	ast.Node(q.Node).Accept(visit)
	if len(casts) != len(q.Casts) {
		t.Errorf("%d casts marked, %d found in the AST", len(q.Casts), len(casts))
	}
	if len(nulls) != len(q.NullsFirst) {
		t.Errorf("%d NULLS FIRST/LAST recorded, %d found in the AST", len(q.NullsFirst), len(nulls))
	}
	for _, s := range [][]string{casts, intervals, nulls, filters, nodes} {
		for _, l := range s {
			b.WriteString(l)
		}
	}
}

// visitor calls f on every node.
type visitor func(n ast.Node)

func (v visitor) Enter(n ast.Node) (ast.Node, bool) { v(n); return n, false }
func (v visitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// TestExamplesParse parses every example script of the repository.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example scripts found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(f, string(data))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(s.Stmts) == 0 {
			t.Errorf("%s: no statements", f)
		}
	}
}

// TestStringLiterals checks that TiDB sees Flink's string semantics: a
// doubled quote is a quote, backslash is an ordinary character, ||
// concatenates.
func TestStringLiterals(t *testing.T) {
	s, err := Parse("", `SELECT 'it''s', 'a\nb\', 'x' || 'y' FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	fields := s.Stmts[0].(*Select).Query.Node.(*ast.SelectStmt).Fields.Fields
	want := []string{"it's", `a\nb\`}
	for i, w := range want {
		v, ok := fields[i].Expr.(ast.ValueExpr)
		if !ok {
			t.Fatalf("field %d is %T", i, fields[i].Expr)
		}
		if got := v.GetValue(); got != w {
			t.Errorf("field %d = %q, want %q", i, got, w)
		}
	}
	if f, ok := fields[2].Expr.(*ast.FuncCallExpr); !ok || f.FnName.L != "concat" {
		t.Errorf("|| is %T %v, want CONCAT", fields[2].Expr, restore(t, fields[2].Expr))
	}
}

// TestParseConcurrently parses from many goroutines at once (run with
// -race): Parse keeps no shared state.
func TestParseConcurrently(t *testing.T) {
	data, err := os.ReadFile("../../examples/live-room/top_gifts.sql")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse("a.sql", string(data))
	if err != nil {
		t.Fatal(err)
	}
	wantText := want.Stmts[2].(*Insert).Query.Text()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				s, err := Parse("a.sql", string(data))
				if err != nil {
					errs <- err
					return
				}
				if got := s.Stmts[2].(*Insert).Query.Text(); got != wantText {
					errs <- fmt.Errorf("rewritten text differs: %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNeverPanics feeds inputs that once broke TiDB's parser or its test
// driver; Parse must answer with an *Error, not an internal error.
func TestNeverPanics(t *testing.T) {
	for _, in := range []string{
		"SELECT " + strings.Repeat("9", 90) + " FROM t",
		"SELECT 0." + strings.Repeat("9", 90) + " FROM t",
		"SELECT ts - INTERVAL '" + strings.Repeat("9", 90) + "' SECOND FROM t",
		"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL " + strings.Repeat("9", 90) + " SECOND))",
		"\x00", "\xff\xfe", "SELECT '\xff'", "SELECT `\xff`", "CREATE TABLE t (a DECIMAL(99999999999999999999))",
	} {
		_, err := Parse("", in)
		e, ok := err.(*Error)
		if !ok || strings.HasPrefix(e.Msg, "internal error") {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
}

// BenchmarkParseFlagship parses the flagship script (three statements).
func BenchmarkParseFlagship(b *testing.B) {
	data, err := os.ReadFile("../../examples/live-room/top_gifts.sql")
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse("a.sql", text); err != nil {
			b.Fatal(err)
		}
	}
}
