package optimize_test

import (
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/plantest"
	"github.com/eddy-streaming/eddy/planner/logical"
	"github.com/eddy-streaming/eddy/planner/optimize"
)

func tree(n logical.Node) string { return explain.Tree(n, explain.Options{}) }

func TestRules(t *testing.T) {
	b := plantest.New()
	scan := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
	amount := plantest.Col(scan, "amount")
	gt := func(e *expr.Expr, v int64) *expr.Expr { return plantest.Bool(expr.FuncGt, e, plantest.BigInt(v)) }
	div := func(e *expr.Expr) *expr.Expr { return plantest.Arith(expr.FuncDiv, plantest.BigInt(100), e) }
	cases := []struct {
		name  string
		in    logical.Node
		fired string
		want  string
	}{
		{"true filter", b.Filter(scan, expr.Lit("true", types.BooleanType)), "RemoveTrueFilter",
			"Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"merge filters", b.Filter(b.Filter(scan, gt(amount, 1)), gt(amount, 2)), "MergeFilters",
			"Filter amount > 1 AND amount > 2\n└── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// 100 / amount must not run on rows where amount > 0 is false.
		{"no merge of a failing filter", b.Filter(b.Filter(scan, gt(amount, 0)), gt(div(amount), 2)), "",
			"Filter 100 / amount > 2\n└── Filter amount > 0\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"filter below project", func() logical.Node {
			p := b.Project(scan, "twice", plantest.Arith(expr.FuncMul, amount, plantest.BigInt(2)), "room_id")
			return b.Filter(p, gt(plantest.Col(p, "twice"), 10))
		}(), "PushFilterBelowProject",
			"Project amount * 2 AS twice, room_id\n└── Filter amount * 2 > 10\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"merge projects", func() logical.Node {
			p := b.Project(scan, "a", amount, "room_id")
			return b.Project(p, "b", plantest.Arith(expr.FuncAdd, plantest.Col(p, "a"), plantest.BigInt(1)))
		}(), "MergeProjects",
			"Project amount + 1 AS b\n└── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// x would be computed twice: no merge.
		{"no merge of a shared expression", func() logical.Node {
			p := b.Project(scan, "x", plantest.Arith(expr.FuncMul, amount, amount))
			x := plantest.Col(p, "x")
			return b.Project(p, "y", plantest.Arith(expr.FuncAdd, x, x))
		}(), "",
			"Project x + x AS y\n└── Project amount * amount AS x\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"identity project", b.Star(scan), "RemoveIdentityProject",
			"Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"renaming project stays", b.Project(scan, "room_id", "r2", plantest.Col(scan, "user_id"), "gift_id", "quantity", "amount", "ts"), "",
			"Project room_id, user_id AS r2, gift_id, quantity, amount, ts\n└── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"filter below window", func() logical.Node {
			w := b.Tumble(scan, "ts", time.Minute)
			ws := plantest.Col(w, "window_start")
			return b.Filter(w, plantest.Bool(expr.FuncAnd, gt(plantest.Col(w, "amount"), 3), plantest.Bool(expr.FuncIsNotNull, ws)))
		}(), "PushFilterBelowWindowTVF",
			"Filter window_start IS NOT NULL\n└── WindowTVF TUMBLE(ts, INTERVAL '1' MINUTE)\n    └── Filter amount > 3\n        └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// A failing term stays with the term it is ANDed with.
		{"failing term stays", func() logical.Node {
			w := b.Tumble(scan, "ts", time.Minute)
			ws := plantest.Col(w, "window_start")
			return b.Filter(w, plantest.Bool(expr.FuncAnd, plantest.Bool(expr.FuncIsNotNull, ws), gt(div(plantest.Col(w, "amount")), 3)))
		}(), "",
			"Filter window_start IS NOT NULL AND 100 / amount > 3\n└── WindowTVF TUMBLE(ts, INTERVAL '1' MINUTE)\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"filter below aggregate and over", func() logical.Node {
			w := b.Tumble(scan, "ts", time.Minute)
			a := b.Aggregate(w, []string{"window_start", "window_end", "room_id"}, plantest.A{Func: jobgraph.Sum, Arg: "amount", Name: "s"})
			o := b.Over(a, logical.RowNumber, []string{"window_start", "window_end", "room_id"}, []plantest.S{{Col: "s", Desc: true}}, "rn")
			return b.Filter(o, plantest.Bool(expr.FuncAnd, plantest.Bool(expr.FuncLe, plantest.Col(o, "rn"), plantest.BigInt(3)),
				plantest.Bool(expr.FuncAnd, gt(plantest.Col(o, "room_id"), 5), gt(plantest.Col(o, "s"), 9))))
		}(), "PushFilterBelowOver",
			"Filter rn <= 3 AND s > 9\n└── Over ROW_NUMBER() partition=[window_start, window_end, room_id] order=[s DESC] AS rn\n    └── Aggregate group=[window_start, window_end, room_id] aggs=[SUM(amount) AS s]\n        └── WindowTVF TUMBLE(ts, INTERVAL '1' MINUTE)\n            └── Filter room_id > 5\n                └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// Only partition keys may go below a SESSION: other rows could
		// extend or bridge sessions.
		{"filter below session", func() logical.Node {
			w := b.Session(scan, "ts", time.Minute, "room_id")
			return b.Filter(w, plantest.Bool(expr.FuncAnd, gt(plantest.Col(w, "amount"), 3), gt(plantest.Col(w, "room_id"), 2)))
		}(), "PushFilterBelowWindowTVF",
			"Filter amount > 3\n└── WindowTVF SESSION(ts, INTERVAL '1' MINUTE) PARTITION BY room_id\n    └── Filter room_id > 2\n        └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"no filter below session", func() logical.Node {
			w := b.Session(scan, "ts", time.Minute)
			return b.Filter(w, gt(plantest.Col(w, "room_id"), 2))
		}(), "",
			"Filter room_id > 2\n└── WindowTVF SESSION(ts, INTERVAL '1' MINUTE)\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"filter into union", func() logical.Node {
			u := b.Union(scan, b.Scan(plantest.Gifts, plantest.GiftsWatermark()))
			return b.Filter(u, gt(plantest.Col(u, "amount"), 3))
		}(), "PushFilterIntoUnion",
			"Union all\n├── Filter amount > 3\n│   └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n└── Filter amount > 3\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// A LEFT join keeps its left rows: terms on them move; terms on the
		// right side (NULL for unmatched rows) and on both sides stay.
		{"filter into left join", func() logical.Node {
			r := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
			j := b.Join(scan, r, jobgraph.LeftJoin, plantest.Bool(expr.FuncEq, plantest.JCol(scan, r, "L", "room_id"), plantest.JCol(scan, r, "R", "room_id")))
			return b.Filter(j, plantest.Bool(expr.FuncAnd,
				plantest.Bool(expr.FuncAnd, gt(plantest.JCol(scan, r, "L", "amount"), 3), gt(plantest.JCol(scan, r, "R", "amount"), 4)),
				plantest.Bool(expr.FuncGt, plantest.JCol(scan, r, "L", "quantity"), plantest.JCol(scan, r, "R", "quantity"))))
		}(), "PushFilterIntoJoin",
			"Filter amount > 4 AND quantity > quantity\n└── Join LEFT on room_id = room_id\n    ├── Filter amount > 3\n    │   └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"filter into inner join", func() logical.Node {
			r := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
			j := b.Join(scan, r, jobgraph.InnerJoin, plantest.Bool(expr.FuncEq, plantest.JCol(scan, r, "L", "room_id"), plantest.JCol(scan, r, "R", "room_id")))
			return b.Filter(j, gt(plantest.JCol(scan, r, "R", "amount"), 4))
		}(), "PushFilterIntoJoin",
			"Join INNER on room_id = room_id\n├── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n└── Filter amount > 4\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		// Over an inner join, a term on both sides joins the ON condition,
		// unless it may fail (then the whole WHERE stays).
		{"both sides into an inner join's condition", func() logical.Node {
			r := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
			j := b.Join(scan, r, jobgraph.InnerJoin, plantest.Bool(expr.FuncEq, plantest.JCol(scan, r, "L", "room_id"), plantest.JCol(scan, r, "R", "room_id")))
			return b.Filter(j, plantest.Bool(expr.FuncGt, plantest.JCol(scan, r, "L", "quantity"), plantest.JCol(scan, r, "R", "quantity")))
		}(), "PushFilterIntoJoin",
			"Join INNER on room_id = room_id AND quantity > quantity\n├── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n└── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
		{"no failing term into an inner join's condition", func() logical.Node {
			r := b.Scan(plantest.Gifts, plantest.GiftsWatermark())
			j := b.Join(scan, r, jobgraph.InnerJoin, plantest.Bool(expr.FuncEq, plantest.JCol(scan, r, "L", "room_id"), plantest.JCol(scan, r, "R", "room_id")))
			return b.Filter(j, gt(plantest.Arith(expr.FuncDiv, plantest.JCol(scan, r, "L", "amount"), plantest.JCol(scan, r, "R", "amount")), 1))
		}(), "",
			"Filter amount / amount > 1\n└── Join INNER on room_id = room_id\n    ├── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n    └── Scan gifts [connector=datagen] watermark=ts - INTERVAL '5' SECOND\n"},
	}
	for _, c := range cases {
		before := tree(c.in)
		out, fired := optimize.Node(c.in)
		if got := tree(out); got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
		if c.fired == "" && len(fired) > 0 || c.fired != "" && (len(fired) == 0 || fired[0] != c.fired) {
			t.Errorf("%s: fired %v, want %q first", c.name, fired, c.fired)
		}
		if tree(c.in) != before {
			t.Errorf("%s: the input plan was modified", c.name)
		}
	}
}

func TestIsWindowColumn(t *testing.T) {
	b := plantest.New()
	w := b.Tumble(b.Scan(plantest.Gifts, plantest.GiftsWatermark()), "ts", time.Minute)
	p := b.Project(b.Filter(w, expr.Lit("true", types.BooleanType)), "room_id", "window_end", "x", plantest.Col(w, "window_start"))
	for name, want := range map[string]bool{"room_id": false, "window_end": true, "x": true} {
		if got := optimize.IsWindowColumn(p, plantest.Idx(p, name)); got != want {
			t.Errorf("%s: %v", name, got)
		}
	}
}
