package analyze

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// The randomized UNION ALL and aggregate type tests draw columns (and
// literals, and NULL) of every type, work out the result types with the
// reference rules of typerand_test.go (refCommon) and the small table of
// aggregate rules below, and check the analyzed plans against them.

// randTableDDL declares table r with randCols, and table w with the same
// columns and a watermark on ts (a time attribute).
func randTableDDL() string {
	var cols []string
	for _, c := range randCols {
		cols = append(cols, fmt.Sprintf("%s %s", c.name, c.t))
	}
	return fmt.Sprintf("CREATE TABLE r (%s) WITH ('connector' = 'memory');\n"+
		"CREATE TABLE w (%s, WATERMARK FOR ts AS ts) WITH ('connector' = 'memory');\n",
		strings.Join(cols, ", "), strings.Join(cols, ", "))
}

// unionItem is one SELECT item of one input of a random UNION ALL.
type unionItem struct {
	sql     string
	t       types.Type // zero Kind for NULL
	rowtime bool
}

// family groups types whose common type exists.
func family(t types.Type) int {
	switch {
	case refIsNum(t):
		return 1
	case t.Kind == types.String:
		return 2
	case t.Kind == types.Boolean:
		return 3
	case t.Kind == types.Timestamp:
		return 4
	}
	return 0
}

// randUnionItem draws an item; like, when not zero, is the family it
// draws from most of the time (so that most unions have common types).
func randUnionItem(r *rand.Rand, table string, like int) unionItem {
	for range 20 {
		it := randUnionItem1(r, table)
		if like == 0 || r.IntN(5) == 0 || family(it.t) == like {
			return it
		}
	}
	return randUnionItem1(r, table)
}

func randUnionItem1(r *rand.Rand, table string) unionItem {
	switch k := r.IntN(10); {
	case k == 0:
		return unionItem{sql: "NULL"}
	case k < 3:
		lits := []unionItem{
			{sql: "7", t: nn(types.IntType)}, {sql: "3000000000", t: nn(types.BigIntType)},
			{sql: "2.50", t: nn(types.DecimalType(3, 2))}, {sql: "1.5E0", t: nn(types.DoubleType)},
			{sql: "'abc'", t: nn(types.StringType)}, {sql: "TRUE", t: nn(types.BooleanType)},
		}
		return lits[r.IntN(len(lits))]
	default:
		c := randCols[r.IntN(len(randCols))]
		return unionItem{sql: c.name, t: c.t, rowtime: table == "w" && c.name == "ts"}
	}
}

func TestRandomUnionTypes(t *testing.T) {
	reg := testRegistry(t)
	ddl := randTableDDL()
	seed := uint64(20261126)
	r := rand.New(rand.NewPCG(seed, 2))
	valid, invalid := 0, 0
	for trial := 0; trial < 1500; trial++ {
		width := 1 + r.IntN(3)
		inputs := 2 + r.IntN(2)
		items := make([][]unionItem, inputs)
		var selects []string
		for i := range items {
			table := []string{"r", "w"}[r.IntN(2)]
			var sqls []string
			for col := range width {
				like := 0
				if i > 0 {
					like = family(items[0][col].t)
				}
				it := randUnionItem(r, table, like)
				items[i] = append(items[i], it)
				sqls = append(sqls, it.sql)
			}
			selects = append(selects, fmt.Sprintf("SELECT %s FROM %s", strings.Join(sqls, ", "), table))
		}
		sql := strings.Join(selects, " UNION ALL ") + ";"
		// The reference: per column, the common type of the inputs' types
		// (NULL takes the others'), nullable if any input is, a time
		// attribute if every input's column is the rowtime column.
		want := make([]types.Type, width)
		ok := true
		for col := range width {
			cur := types.Type{}
			seen := false
			nullable := false
			rowtime := true
			for i := range items {
				it := items[i][col]
				rowtime = rowtime && it.rowtime
				if it.t.Kind == types.Null {
					nullable = true
					continue
				}
				nullable = nullable || !it.t.NotNull
				if !seen {
					cur, seen = it.t, true
					continue
				}
				c, good := refCommon(cur, it.t)
				if !good {
					ok = false
				}
				cur = c
			}
			if !seen {
				ok = false // NULL in every input: no type
			}
			cur.NotNull = !nullable
			cur.RowTime = rowtime
			want[col] = cur
		}
		s, err := analyzeSQL(t, reg, "u.sql", ddl+sql)
		if !ok {
			if err == nil {
				t.Fatalf("seed %d: %s\n  analyzed, but the rules reject it", seed, sql)
			}
			invalid++
			continue
		}
		if err != nil {
			t.Fatalf("seed %d: %s\n  %v", seed, sql, err)
		}
		valid++
		u, isUnion := s.Sinks[0].Input.(*logical.Union)
		if !isUnion {
			t.Fatalf("%s: the sink reads a %T, not a Union", sql, s.Sinks[0].Input)
		}
		got := u.Schema()
		for col, w := range want {
			g := got.Fields[col].Type
			if !sameType(g.Plain(), w.Plain()) || g.RowTime != w.RowTime || g.ProcTime {
				t.Fatalf("seed %d: %s\n  column %d is %s, the rules say %s", seed, sql, col, g, w)
			}
		}
		// Every input has exactly the union's types and names: the union
		// passes rows through unchanged.
		for i, in := range u.InputsNodes {
			is := in.Schema()
			for col := range got.Fields {
				if is.Fields[col].Type != got.Fields[col].Type || is.Fields[col].Name != got.Fields[col].Name {
					t.Fatalf("%s: input %d column %d is %s %s, the union's is %s %s", sql, i, col,
						is.Fields[col].Name, is.Fields[col].Type, got.Fields[col].Name, got.Fields[col].Type)
				}
			}
		}
	}
	if valid < 300 || invalid < 100 {
		t.Fatalf("generator too lopsided: %d valid, %d invalid", valid, invalid)
	}
	t.Logf("%d valid and %d invalid unions checked", valid, invalid)
}

// refAgg is the reference type of an aggregate over an argument of type
// arg: ok is false when the function does not take that type.
func refAgg(fn string, arg types.Type, grouped, filtered bool) (types.Type, bool) {
	canBeEmpty := !grouped || filtered
	keep := func(t types.Type) types.Type {
		t.NotNull = arg.NotNull && !canBeEmpty
		return t
	}
	switch fn {
	case "COUNT", "APPROX_COUNT_DISTINCT":
		return nn(types.BigIntType), true
	case "SUM":
		if !refIsNum(arg) {
			return types.Type{}, false
		}
		if arg.Kind == types.Decimal {
			return keep(types.DecimalType(38, arg.Scale)), true
		}
		return keep(types.Type{Kind: arg.Kind}), true
	case "AVG":
		if !refIsNum(arg) {
			return types.Type{}, false
		}
		if arg.Kind == types.Decimal {
			return keep(types.DecimalType(38, max(6, arg.Scale))), true
		}
		return keep(types.Type{Kind: arg.Kind}), true
	default: // MIN, MAX, FIRST_VALUE, LAST_VALUE keep the argument's type
		t := arg
		t.RowTime, t.ProcTime = false, false
		return keep(t), true
	}
}

func TestRandomAggregateTypes(t *testing.T) {
	reg := testRegistry(t)
	ddl := randTableDDL()
	seed := uint64(20261127)
	r := rand.New(rand.NewPCG(seed, 3))
	fns := []string{"COUNT", "SUM", "AVG", "MIN", "MAX", "FIRST_VALUE", "LAST_VALUE", "APPROX_COUNT_DISTINCT"}
	bools := []string{"f", "f_nn", "i > 0", "s <> 'x'", "b_nn = 1", "x IS NULL"}
	valid, invalid := 0, 0
	for trial := 0; trial < 2000; trial++ {
		fn := fns[r.IntN(len(fns))]
		c := randCols[r.IntN(len(randCols))]
		// TiDB parses DISTINCT in the aggregates it knows only.
		distinct := fn != "FIRST_VALUE" && fn != "LAST_VALUE" && fn != "APPROX_COUNT_DISTINCT" && r.IntN(3) == 0
		filter := ""
		if r.IntN(2) == 0 {
			filter = bools[r.IntN(len(bools))]
		}
		grouped := r.IntN(2) == 0
		table := []string{"r", "w"}[r.IntN(2)]
		arg := c.name
		if distinct {
			arg = "DISTINCT " + arg
		}
		call := fmt.Sprintf("%s(%s)", fn, arg)
		if filter != "" {
			call += fmt.Sprintf(" FILTER (WHERE %s)", filter)
		}
		sql := fmt.Sprintf("SELECT %s AS a FROM %s", call, table)
		if grouped {
			sql = fmt.Sprintf("SELECT v, %s AS a FROM %s GROUP BY v", call, table)
		}
		sql += ";"
		want, ok := refAgg(fn, c.t, grouped, filter != "")
		s, err := analyzeSQL(t, reg, "a.sql", ddl+sql)
		if !ok {
			if err == nil {
				t.Fatalf("seed %d: %s\n  analyzed, but the rules reject it", seed, sql)
			}
			invalid++
			continue
		}
		if err != nil {
			t.Fatalf("seed %d: %s\n  %v", seed, sql, err)
		}
		valid++
		var agg *logical.Aggregate
		for n := logical.Node(s.Sinks[0]); n != nil; {
			if a, isAgg := n.(*logical.Aggregate); isAgg {
				agg = a
				break
			}
			ins := n.Inputs()
			if len(ins) != 1 {
				break
			}
			n = ins[0]
		}
		if agg == nil || len(agg.Aggs) != 1 {
			t.Fatalf("%s: no Aggregate with one call in the plan", sql)
		}
		ac := agg.Aggs[0]
		if !sameType(ac.Type.Plain(), want) {
			t.Fatalf("seed %d: %s\n  the aggregate is %s, the rules say %s", seed, sql, ac.Type, want)
		}
		out := s.Sinks[0].Input.Schema()
		if got := out.Fields[out.Len()-1].Type; !sameType(got.Plain(), want) {
			t.Fatalf("seed %d: %s\n  the output column is %s, the rules say %s", seed, sql, got, want)
		}
		in := agg.Input.Schema()
		// The argument column holds the argument, the FILTER column a
		// BOOLEAN, and DISTINCT is passed on.
		if fn == "COUNT" && !distinct && ac.Func != jobgraph.Count {
			t.Fatalf("%s: COUNT(col) is %s", sql, ac.Func)
		}
		if ac.Arg < 0 || ac.Arg >= in.Len() || !in.Fields[ac.Arg].Type.SameValues(c.t) {
			t.Fatalf("%s: the argument column %d is not the %s argument", sql, ac.Arg, c.t)
		}
		if ac.Distinct != distinct {
			t.Fatalf("%s: Distinct = %v", sql, ac.Distinct)
		}
		if (filter != "") != (ac.Filter != nil) {
			t.Fatalf("%s: Filter = %v", sql, ac.Filter)
		}
		if ac.Filter != nil && in.Fields[*ac.Filter].Type.Kind != types.Boolean {
			t.Fatalf("%s: the FILTER column is %s", sql, in.Fields[*ac.Filter].Type)
		}
		if grouped && (len(agg.GroupKeys) != 1 || in.Fields[agg.GroupKeys[0]].Name != "v") {
			t.Fatalf("%s: group keys %v", sql, agg.GroupKeys)
		}
	}
	if valid < 500 || invalid < 100 {
		t.Fatalf("generator too lopsided: %d valid, %d invalid", valid, invalid)
	}
	t.Logf("%d valid and %d invalid aggregates checked", valid, invalid)
}
