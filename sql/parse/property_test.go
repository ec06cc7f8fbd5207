package parse

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// A snippet is one statement written as tokens separated by spaces; a
// token "@label:text" is text whose position is checked under label. The
// property test joins tokens with random whitespace, comments and letter
// case, so every position it checks moves around.
type snippet struct {
	name string
	tmpl string
	// check verifies the parsed statement against the labels' positions.
	check func(t *testing.T, st Stmt, at func(string) Pos)
	// err snippets fail at the token labelled "err"; last ones must end the
	// script (an unterminated string swallows what follows).
	err, last bool
}

var validSnippets = []snippet{{
	name: "create table",
	tmpl: `CREATE TABLE @name:gifts ( @c0:room_id @t0:BIGINT NOT NULL , @c1:ts @t1:TIMESTAMP ( 3 ) ,
		@wm:WATERMARK FOR @wmcol:ts AS @wmexpr:ts - @iv:INTERVAL @ivv:'5' SECONDS ) WITH ( @k0:'connector' = @v0:'datagen' , @k1:'rows' = @v1:'10' )`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		ct := st.(*CreateTable)
		eq(t, "name", ct.NamePos, at("name"))
		for i, c := range ct.Columns {
			eq(t, "column", c.At, at(fmt.Sprintf("c%d", i)))
			eq(t, "type", c.TypePos, at(fmt.Sprintf("t%d", i)))
		}
		w := ct.Watermark
		eq(t, "watermark", w.At, at("wm"))
		eq(t, "watermark column", w.ColumnPos, at("wmcol"))
		eq(t, "watermark expr", w.ExprPos, at("wmexpr"))
		eq(t, "watermark expr node", w.Query.PosOfOffset(w.Expr.OriginTextPosition()), at("wmexpr"))
		call := w.Expr.(*ast.FuncCallExpr)
		eq(t, "interval value", w.Query.PosOfOffset(call.Args[1].OriginTextPosition()), at("ivv"))
		iv, ok := w.Query.Interval(call.Args[1])
		if !ok || iv.Ms != 5000 {
			t.Errorf("interval = %v, %v", iv, ok)
		}
		eq(t, "interval", iv.At, at("iv"))
		for i, o := range ct.Options {
			eq(t, "option key", o.At, at(fmt.Sprintf("k%d", i)))
			eq(t, "option value", o.ValuePos, at(fmt.Sprintf("v%d", i)))
		}
	},
}, {
	name: "insert with tvf and casts",
	tmpl: `INSERT INTO @sink:sink SELECT @f0:a , @f1:CAST ( b AS @ct:BIGINT ) , @f2:TRY_CAST ( c AS @ct2:DECIMAL ( 10 , 2 ) ) FROM @tvf:TABLE ( TUMBLE ( TABLE @tt:gifts ,
		DESCRIPTOR ( @tc:ts ) , @i1:INTERVAL '1' MINUTES ) ) WHERE @w:x > 1`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		ins := st.(*Insert)
		q := ins.Query
		eq(t, "table", ins.TablePos, at("sink"))
		sel := q.Node.(*ast.SelectStmt)
		for i, f := range sel.Fields.Fields {
			eq(t, "field", q.PosOfOffset(f.Offset), at(fmt.Sprintf("f%d", i)))
			eq(t, "field expr", q.PosOfOffset(f.Expr.OriginTextPosition()), at(fmt.Sprintf("f%d", i)))
		}
		for i, lbl := range []string{"ct", "ct2"} {
			c := sel.Fields.Fields[i+1].Expr.(*ast.FuncCastExpr)
			ct, ok := q.CastType(c)
			if !ok {
				t.Fatalf("cast %d not marked", i)
			}
			eq(t, "cast type", ct.At, at(lbl))
		}
		eq(t, "where", q.PosOfOffset(sel.Where.OriginTextPosition()), at("w"))
		tvf := q.TVFs[placeholderName(1)]
		eq(t, "tvf", tvf.At, at("tvf"))
		eq(t, "tvf table", tvf.TablePos, at("tt"))
		eq(t, "tvf timecol", tvf.TimeCol.At, at("tc"))
		eq(t, "tvf size", tvf.Args[0].At, at("i1"))
		if p, ok := q.Find("x", at("f0")); !ok || p != at("w") {
			t.Errorf("Find(x) = %v, %v; want %v", p, ok, at("w"))
		}
	},
}, {
	name: "set",
	tmpl: `SET @k:'pipeline.name' = @v:'job'`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		s := st.(*Set)
		eq(t, "key", s.KeyPos, at("k"))
		eq(t, "value", s.ValuePos, at("v"))
	},
}, {
	name: "hop with named arguments and NULLS LAST",
	tmpl: `SELECT @f0:k , COUNT ( * ) FROM @tvf:TABLE ( HOP ( SIZE => @size:INTERVAL '1' HOURS , SLIDE => @slide:INTERVAL '5' MINUTE ,
		TIMECOL => DESCRIPTOR ( @tc:ts ) , DATA => TABLE @tt:t ) ) GROUP BY k ORDER BY @ok:k DESC NULLS LAST`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		q := st.(*Select).Query
		tvf := q.TVFs[placeholderName(1)]
		eq(t, "tvf", tvf.At, at("tvf"))
		eq(t, "slide", tvf.Args[0].At, at("slide"))
		eq(t, "size", tvf.Args[1].At, at("size"))
		eq(t, "timecol", tvf.TimeCol.At, at("tc"))
		eq(t, "table", tvf.TablePos, at("tt"))
		sel := q.Node.(*ast.SelectStmt)
		key := sel.OrderBy.Items[0].Expr
		eq(t, "order key", q.PosOfOffset(key.OriginTextPosition()), at("ok"))
		if nf, ok := q.NullsFirst[key.OriginTextPosition()]; !ok || nf {
			t.Errorf("NULLS LAST not recorded: %v %v", nf, ok)
		}
	},
}, {
	name: "interval expression",
	tmpl: `SELECT @x:ts - @iv:INTERVAL @v:'0.5' SECOND AS x , @y:y FROM t`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		q := st.(*Select).Query
		sel := q.Node.(*ast.SelectStmt)
		eq(t, "field", q.PosOfOffset(sel.Fields.Fields[0].Offset), at("x"))
		eq(t, "field 2", q.PosOfOffset(sel.Fields.Fields[1].Offset), at("y"))
		call := sel.Fields.Fields[0].Expr.(*ast.FuncCallExpr)
		iv, ok := q.Interval(call.Args[1])
		if !ok || iv.Ms != 500 {
			t.Errorf("interval = %v, %v", iv, ok)
		}
		eq(t, "interval", iv.At, at("iv"))
		eq(t, "value", q.PosOfOffset(call.Args[1].OriginTextPosition()), at("v"))
	},
}, {
	name: "filter, first_value, floor to, lateral table, full join",
	tmpl: `SELECT @agg:COUNT ( * ) FILTER ( WHERE @cond:a > 1 ) , @fv:FIRST_VALUE ( b ) , @fl:FLOOR ( ts TO @unit:HOUR ) ,
		@rx:REGEXP ( s , 'x' ) FROM t FULL OUTER JOIN u ON @on:t.k = u.k , LATERAL @tf:TABLE ( @fn:split ( s ) ) AS T ( w , p )`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		q := st.(*Select).Query
		sel := q.Node.(*ast.SelectStmt)
		agg := sel.Fields.Fields[0].Expr.(*ast.AggregateFuncExpr)
		eq(t, "aggregate", q.PosOfOffset(agg.OriginTextPosition()), at("agg"))
		cond, ok := q.AggFilter(agg)
		if !ok {
			t.Fatalf("FILTER not recorded")
		}
		eq(t, "filter", q.PosOfOffset(cond.OriginTextPosition()), at("cond"))
		fv := sel.Fields.Fields[1].Expr.(*ast.AggregateFuncExpr)
		eq(t, "first_value", q.PosOfOffset(fv.OriginTextPosition()), at("fv"))
		fl := sel.Fields.Fields[2].Expr.(*ast.FuncCallExpr)
		if fl.FnName.L != "__eddy_floor_to" || len(fl.Args) != 2 {
			t.Fatalf("FLOOR TO is %s", restore(t, fl))
		}
		eq(t, "floor", q.PosOfOffset(fl.OriginTextPosition()), at("fl"))
		eq(t, "unit", q.PosOfOffset(fl.Args[1].OriginTextPosition()), at("unit"))
		rx := sel.Fields.Fields[3].Expr.(*ast.FuncCallExpr)
		eq(t, "regexp", q.PosOfOffset(rx.OriginTextPosition()), at("rx"))
		outer := sel.From.TableRefs
		lat, ok := outer.Right.(*ast.TableSource)
		if !ok {
			t.Fatalf("right of the comma join is %T", outer.Right)
		}
		call, tf, ok := q.TableFuncOf(lat)
		if !ok || tf.Name != "split" || len(lat.ColumnNames) != 2 {
			t.Fatalf("table function not recognized: %v %v", tf, ok)
		}
		eq(t, "table function", tf.At, at("tf"))
		eq(t, "table function name", tf.NamePos, at("fn"))
		eq(t, "table function call", q.PosOfOffset(call.OriginTextPosition()), at("tf"))
		full, ok := outer.Left.(*ast.Join)
		if !ok || !q.IsFullJoin(full) {
			t.Fatalf("FULL JOIN not recognized")
		}
		eq(t, "on", q.PosOfOffset(full.On.Expr.OriginTextPosition()), at("on"))
	},
}, {
	name: "view",
	tmpl: `CREATE TEMPORARY VIEW @name:v ( @c0:a , @c1:b ) AS @q:SELECT x , y FROM t`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		v := st.(*CreateView)
		eq(t, "name", v.NamePos, at("name"))
		eq(t, "column", v.Columns[0].At, at("c0"))
		eq(t, "column 2", v.Columns[1].At, at("c1"))
		eq(t, "query", v.Query.Start(), at("q"))
	},
}, {
	name: "computed column",
	tmpl: `CREATE TABLE t ( @c0:ms BIGINT , @c1:ts AS @e1:TO_TIMESTAMP_LTZ ( ms , 3 ) , @c2:h AS @e2:FLOOR ( ts TO @u:DAY ) ,
		WATERMARK FOR @wm:ts AS ts - INTERVAL '1' SECOND ) WITH ( 'k' = 'v' )`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		ct := st.(*CreateTable)
		eq(t, "column", ct.Columns[0].At, at("c0"))
		eq(t, "computed", ct.Columns[1].At, at("c1"))
		eq(t, "computed 2", ct.Columns[2].At, at("c2"))
		eq(t, "expr", ct.Columns[1].TypePos, at("e1"))
		eq(t, "expr node", ct.Columns[1].Query.PosOfOffset(ct.Columns[1].Expr.OriginTextPosition()), at("e1"))
		fl := ct.Columns[2].Expr.(*ast.FuncCallExpr)
		eq(t, "floor", ct.Columns[2].Query.PosOfOffset(fl.OriginTextPosition()), at("e2"))
		eq(t, "unit", ct.Columns[2].Query.PosOfOffset(fl.Args[1].OriginTextPosition()), at("u"))
		eq(t, "watermark column", ct.Watermark.ColumnPos, at("wm"))
	},
}, {
	name: "explain",
	tmpl: `@ex:EXPLAIN @d0:CHANGELOG_MODE , @d1:ESTIMATED_COST @ins:INSERT INTO @sink:s WITH c AS ( SELECT a FROM t ) SELECT @f0:a FROM c`,
	check: func(t *testing.T, st Stmt, at func(string) Pos) {
		ex := st.(*Explain)
		eq(t, "explain", ex.At, at("ex"))
		eq(t, "detail", ex.Details[0].At, at("d0"))
		eq(t, "detail 2", ex.Details[1].At, at("d1"))
		ins := ex.Stmt.(*Insert)
		eq(t, "insert", ins.At, at("ins"))
		eq(t, "table", ins.TablePos, at("sink"))
		sel := ins.Query.Node.(*ast.SelectStmt)
		eq(t, "field", ins.Query.PosOfOffset(sel.Fields.Fields[0].Offset), at("f0"))
	},
}}

var errorSnippets = []snippet{
	{name: "tidb: missing field", tmpl: `SELECT a , @err:FROM t`},
	{name: "tidb: doubled WHERE", tmpl: `SELECT a FROM t WHERE @err:WHERE`},
	{name: "tidb: reserved word", tmpl: `SELECT @err:rank FROM t`},
	{name: "tidb: after a removed NULLS LAST", tmpl: `SELECT a FROM t ORDER BY a NULLS LAST LIMIT @err:LIMIT 3`},
	{name: "tidb: after rewrites", tmpl: `SELECT CAST ( a AS BIGINT ) , ts - INTERVAL '1' SECONDS , @err:, b FROM t`},
	{name: "tidb: after a tvf", tmpl: `SELECT w.a FROM TABLE ( TUMBLE ( TABLE t , DESCRIPTOR ( ts ) , INTERVAL '1' MINUTE ) ) w JOIN @err:JOIN u`},
	{name: "tidb: in a watermark", tmpl: `CREATE TABLE t ( ts TIMESTAMP ( 3 ) , WATERMARK FOR ts AS ts @err:AS x )`},
	{name: "bad type", tmpl: `CREATE TABLE t ( a @err:FLOAT )`},
	{name: "missing option value", tmpl: `CREATE TABLE t ( a INT ) WITH ( 'k' = @err:, 'x' = 'y' )`},
	{name: "non-interval window size", tmpl: `SELECT * FROM TABLE ( TUMBLE ( TABLE t , DESCRIPTOR ( ts ) , @err:60 ) )`},
	{name: "interval unit", tmpl: `SELECT ts - INTERVAL '1' @err:WEEK FROM t`},
	{name: "cast type", tmpl: `INSERT INTO s SELECT CAST ( a AS @err:DATE ) FROM t`},
	{name: "unknown statement", tmpl: `@err:FROBNICATE x`},
	{name: "double quote", tmpl: `SELECT 'é' , @err:"x" FROM t`},
	{name: "floor unit", tmpl: `SELECT FLOOR ( ts TO @err:FORTNIGHT ) FROM t`},
	{name: "filter without a call", tmpl: `SELECT a @err:FILTER ( WHERE a > 1 ) FROM t`},
	{name: "full join without on", tmpl: `SELECT * FROM a @err:FULL JOIN b WHERE x`},
	{name: "cross join with on", tmpl: `SELECT * FROM a CROSS JOIN b @err:ON a.k = b.k`},
	{name: "explain create", tmpl: `EXPLAIN @err:CREATE TABLE t ( a INT )`},
	{name: "with insert", tmpl: `WITH c AS ( SELECT 1 FROM t ) @err:INSERT INTO s SELECT * FROM c`},
	{name: "tvf argument order", tmpl: `SELECT * FROM TABLE ( TUMBLE ( @err:DESCRIPTOR ( ts ) , TABLE t , INTERVAL '1' MINUTE ) )`},
	{name: "unterminated string", tmpl: `SELECT a , @err:'abc`, last: true},
	{name: "unterminated comment", tmpl: `SELECT a FROM t @err:/*x`, last: true},
}

func init() {
	for i := range errorSnippets {
		errorSnippets[i].err = true
	}
}

// separators go between tokens: whitespace, comments, line breaks.
var separators = []string{" ", "  ", "\t", "\n", "\r\n", " /* c */ ", "\n-- comment; with 'quotes'\n", " /*\n multi-line\n*/\n", "\n\n    "}

// build writes the snippets as one script and returns it with, per snippet,
// the offset of each label.
func build(r *rand.Rand, snips []snippet) (string, []map[string]int) {
	var b strings.Builder
	labels := make([]map[string]int, len(snips))
	sep := func(prev, next string) string {
		punct := func(s string) bool { return s == "(" || s == ")" || s == "," }
		if (punct(prev) || punct(next)) && r.IntN(3) == 0 {
			return ""
		}
		return separators[r.IntN(len(separators))]
	}
	for i, s := range snips {
		labels[i] = map[string]int{}
		if r.IntN(2) == 0 {
			b.WriteString(separators[r.IntN(len(separators))])
		}
		prev := ";"
		for k, tok := range strings.Fields(s.tmpl) {
			label := ""
			if strings.HasPrefix(tok, "@") {
				label, tok, _ = strings.Cut(tok[1:], ":")
			}
			if k > 0 {
				b.WriteString(sep(prev, tok))
			}
			if isKeywordLike(tok) && r.IntN(3) == 0 {
				tok = strings.ToLower(tok)
			}
			if label != "" {
				labels[i][label] = b.Len()
			}
			b.WriteString(tok)
			prev = tok
		}
		if s.last {
			break
		}
		b.WriteString(separators[r.IntN(len(separators))])
		b.WriteString(";")
	}
	return b.String(), labels
}

func isKeywordLike(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return len(s) > 1
}

func eq(t *testing.T, what string, got, want Pos) {
	t.Helper()
	if got != want {
		t.Errorf("%s at %v (offset %d), want %v (offset %d)", what, got, got.Offset, want, want.Offset)
	}
}

// TestPositionsProperty parses random scripts of valid snippets, optionally
// followed by an error snippet and more snippets, and checks that every
// position reported points at the token it names, and that the first error
// wins.
func TestPositionsProperty(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		var snips []snippet
		for n := r.IntN(4); n > 0; n-- {
			snips = append(snips, validSnippets[r.IntN(len(validSnippets))])
		}
		errAt := -1
		if r.IntN(3) > 0 {
			errAt = len(snips)
			e := errorSnippets[r.IntN(len(errorSnippets))]
			snips = append(snips, e)
			if !e.last {
				for n := r.IntN(3); n > 0; n-- {
					all := append(append([]snippet{}, validSnippets...), errorSnippets...)
					s := all[r.IntN(len(all))]
					if s.last {
						continue
					}
					snips = append(snips, s)
				}
			}
		}
		text, labels := build(r, snips)
		src := newSource("p.sql", text)
		script, err := Parse("p.sql", text)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s\nscript:\n%s", seed, fmt.Sprintf(format, args...), text)
		}
		if errAt >= 0 {
			e, ok := err.(*Error)
			if !ok {
				fail("want an *Error from snippet %q, got %v", snips[errAt].name, err)
			}
			want := src.pos(labels[errAt]["err"])
			if e.Pos != want || e.File != "p.sql" {
				fail("snippet %q: error %v at %v, want at %v (%q)", snips[errAt].name, e, e.Pos, want, tokenAt(text, want.Offset))
			}
			continue
		}
		if err != nil {
			fail("unexpected error: %v", err)
		}
		if len(script.Stmts) != len(snips) {
			fail("%d statements, want %d", len(script.Stmts), len(snips))
		}
		for i, st := range script.Stmts {
			at := func(label string) Pos {
				off, ok := labels[i][label]
				if !ok {
					fail("snippet %q has no label %q", snips[i].name, label)
				}
				return src.pos(off)
			}
			t.Run(fmt.Sprintf("seed%d/%s", seed, snips[i].name), func(t *testing.T) {
				snips[i].check(t, st, at)
				if t.Failed() {
					t.Logf("script:\n%s", text)
				}
			})
		}
	}
}
