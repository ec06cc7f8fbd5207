package analyze

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// The randomized type test builds random expressions over columns of every
// type, works out each node's type with the small table of Flink's rules
// below (written independently of the analyzer, one rule per line), and
// checks every node of the analyzed tree against it. Expressions the rules
// reject must fail to analyze.

type rcol struct {
	name string
	t    types.Type
}

func nn(t types.Type) types.Type { t.NotNull = true; return t }

var randCols = []rcol{
	{"i", types.IntType}, {"i_nn", nn(types.IntType)},
	{"b", types.BigIntType}, {"b_nn", nn(types.BigIntType)},
	{"x", types.DoubleType}, {"x_nn", nn(types.DoubleType)},
	{"d1", types.DecimalType(10, 2)}, {"d2", nn(types.DecimalType(5, 0))},
	{"d3", types.DecimalType(38, 10)}, {"d4", types.DecimalType(20, 18)}, {"d5", nn(types.DecimalType(3, 3))},
	{"s", types.StringType}, {"v", types.Type{Kind: types.String, Length: 5}}, {"v2", nn(types.Type{Kind: types.String, Length: 9})},
	{"f", types.BooleanType}, {"f_nn", nn(types.BooleanType)},
	{"ts", types.TimestampType}, {"ts_nn", nn(types.TimestampType)},
	{"tl", ltzType}, {"tl_nn", nn(ltzType)},
}

// ltzType is TIMESTAMP_LTZ(3).
var ltzType = types.Type{Kind: types.Timestamp, Precision: 3, LocalZone: true}

type gnode struct {
	sql  string
	op   string
	kids []*gnode
	want types.Type
	ok   bool
}

// ---- the reference rules ----

func refIsNum(t types.Type) bool {
	return t.Kind == types.Int || t.Kind == types.BigInt || t.Kind == types.Double || t.Kind == types.Decimal
}

// refDec is the DECIMAL an exact numeric is widened to.
func refDec(t types.Type) (int, int) {
	switch t.Kind {
	case types.Int:
		return 10, 0
	case types.BigInt:
		return 19, 0
	}
	return t.Precision, t.Scale
}

// refAdjust: past 38 digits, keep the integral digits and at least
// min(scale, 6) fractional ones.
func refAdjust(p, s int) types.Type {
	if p <= 38 {
		return types.DecimalType(p, s)
	}
	intDigits := p - s
	keep := s
	if keep > 6 {
		keep = 6
	}
	ns := 38 - intDigits
	if ns < keep {
		ns = keep
	}
	return types.DecimalType(38, ns)
}

func refArith(op string, l, r types.Type) (types.Type, bool) {
	nullable := !l.NotNull || !r.NotNull
	res, ok := refArithType(op, l, r)
	res.NotNull = !nullable
	return res, ok
}

func refArithType(op string, l, r types.Type) (types.Type, bool) {
	if !refIsNum(l) || !refIsNum(r) {
		return types.Type{}, false
	}
	isInt := func(t types.Type) bool { return t.Kind == types.Int || t.Kind == types.BigInt }
	if op == "%" {
		if l.Kind == types.Double || r.Kind == types.Double {
			return types.Type{}, false
		}
		if isInt(l) && isInt(r) {
			return types.Type{Kind: r.Kind}, true // MOD has the second operand's type
		}
		p1, s1 := refDec(l)
		p2, s2 := refDec(r)
		s := max(s1, s2)
		return refAdjust(min(p1-s1, p2-s2)+s, s), true
	}
	if l.Kind == types.Double || r.Kind == types.Double {
		return types.DoubleType, true
	}
	if isInt(l) && isInt(r) {
		if l.Kind == types.BigInt || r.Kind == types.BigInt {
			return types.BigIntType, true
		}
		return types.IntType, true
	}
	p1, s1 := refDec(l)
	p2, s2 := refDec(r)
	switch op {
	case "+", "-":
		s := max(s1, s2)
		return refAdjust(max(p1-s1, p2-s2)+s+1, s), true
	case "*":
		return refAdjust(p1+p2+1, s1+s2), true
	default: // "/"
		s := max(6, s1+p2+1)
		return refAdjust(p1-s1+s2+s, s), true
	}
}

// refCommon is the least restrictive type of l and r, nullable if either is.
func refCommon(l, r types.Type) (types.Type, bool) {
	nullable := !l.NotNull || !r.NotNull
	var t types.Type
	switch {
	case refIsNum(l) && refIsNum(r):
		switch {
		case l.Kind == types.Double || r.Kind == types.Double:
			t = types.DoubleType
		case l.Kind == types.Decimal || r.Kind == types.Decimal:
			p1, s1 := refDec(l)
			p2, s2 := refDec(r)
			d := min(max(p1-s1, p2-s2), 38)
			s := min(max(s1, s2), 38-d)
			t = types.DecimalType(d+s, s)
		case l.Kind == types.BigInt || r.Kind == types.BigInt:
			t = types.BigIntType
		default:
			t = types.IntType
		}
	case l.Kind == types.String && r.Kind == types.String:
		t = types.StringType
		if l.Length > 0 && r.Length > 0 {
			t.Length = max(l.Length, r.Length)
		}
	case l.Kind == types.Boolean && r.Kind == types.Boolean:
		t = types.BooleanType
	case l.Kind == types.Timestamp && r.Kind == types.Timestamp:
		// TIMESTAMP with TIMESTAMP_LTZ is TIMESTAMP_LTZ.
		t = types.Type{Kind: types.Timestamp, Precision: 3, LocalZone: l.LocalZone || r.LocalZone}
	default:
		return types.Type{}, false
	}
	t.NotNull = !nullable
	return t, true
}

func boolT(notNull bool) types.Type { return types.Type{Kind: types.Boolean, NotNull: notNull} }

// ---- the generator ----

func genExpr(r *rand.Rand, depth int) *gnode {
	if depth <= 0 || r.IntN(4) == 0 {
		return genLeaf(r)
	}
	switch k := r.IntN(12); {
	case k < 4:
		op := []string{"+", "-", "*", "/", "%"}[r.IntN(5)]
		l, rt := genExpr(r, depth-1), genExpr(r, depth-1)
		g := &gnode{op: op, kids: []*gnode{l, rt}, sql: fmt.Sprintf("(%s %s %s)", l.sql, op, rt.sql)}
		g.want, g.ok = refArith(op, l.want, rt.want)
		g.ok = g.ok && l.ok && rt.ok
		return g
	case k < 6:
		op := []string{"=", "<>", "<", "<=", ">", ">="}[r.IntN(6)]
		l, rt := genExpr(r, depth-1), genExpr(r, depth-1)
		g := &gnode{op: op, kids: []*gnode{l, rt}, sql: fmt.Sprintf("(%s %s %s)", l.sql, op, rt.sql)}
		_, ok := refCommon(l.want, rt.want)
		g.want, g.ok = boolT(l.want.NotNull && rt.want.NotNull), ok && l.ok && rt.ok
		return g
	case k < 7:
		op := []string{"AND", "OR"}[r.IntN(2)]
		l, rt := genBool(r, depth-1), genBool(r, depth-1)
		g := &gnode{op: op, kids: []*gnode{l, rt}, sql: fmt.Sprintf("(%s %s %s)", l.sql, op, rt.sql)}
		g.want = boolT(l.want.NotNull && rt.want.NotNull)
		g.ok = l.ok && rt.ok && l.want.Kind == types.Boolean && rt.want.Kind == types.Boolean
		return g
	case k < 8:
		c, a, b := genBool(r, depth-1), genExpr(r, depth-1), genExpr(r, depth-1)
		g := &gnode{op: "case", kids: []*gnode{c, a, b}, sql: fmt.Sprintf("(CASE WHEN %s THEN %s ELSE %s END)", c.sql, a.sql, b.sql)}
		t, ok := refCommon(a.want, b.want)
		g.want, g.ok = t, ok && c.ok && a.ok && b.ok && c.want.Kind == types.Boolean
		return g
	case k < 9:
		a := genExpr(r, depth-1)
		g := &gnode{op: "isnull", kids: []*gnode{a}, sql: fmt.Sprintf("(%s IS NULL)", a.sql), want: boolT(true), ok: a.ok}
		return g
	case k < 10:
		a := genBool(r, depth-1)
		return &gnode{op: "not", kids: []*gnode{a}, sql: fmt.Sprintf("(NOT %s)", a.sql), want: boolT(a.want.NotNull), ok: a.ok && a.want.Kind == types.Boolean}
	case k < 11:
		a := genExpr(r, depth-1)
		targets := []struct {
			sql string
			t   types.Type
		}{{"INT", types.IntType}, {"BIGINT", types.BigIntType}, {"DOUBLE", types.DoubleType}, {"DECIMAL(12, 3)", types.DecimalType(12, 3)}, {"STRING", types.StringType}}
		tg := targets[r.IntN(len(targets))]
		want := tg.t
		want.NotNull = a.want.NotNull
		ok := a.ok && (refIsNum(a.want) || a.want.Kind == types.String || (a.want.Kind == types.Boolean && (tg.t.Kind == types.Int || tg.t.Kind == types.BigInt || tg.t.Kind == types.Double || tg.t.Kind == types.Decimal || tg.t.Kind == types.String)) ||
			(a.want.Kind == types.Timestamp && tg.t.Kind == types.String))
		return &gnode{op: "cast", kids: []*gnode{a}, sql: fmt.Sprintf("CAST(%s AS %s)", a.sql, tg.sql), want: want, ok: ok}
	default:
		a := genExpr(r, depth-1)
		if a.want.Kind == types.Timestamp {
			iv := []string{"INTERVAL '5' SECOND", "INTERVAL '2' MINUTE", "INTERVAL '1' DAY"}[r.IntN(3)]
			op := []string{"+", "-"}[r.IntN(2)]
			return &gnode{op: "ts" + op, kids: []*gnode{a}, sql: fmt.Sprintf("(%s %s %s)", a.sql, op, iv), want: types.Type{Kind: types.Timestamp, Precision: 3, NotNull: a.want.NotNull, LocalZone: a.want.LocalZone}, ok: a.ok}
		}
		want := a.want
		return &gnode{op: "neg", kids: []*gnode{a}, sql: fmt.Sprintf("(-%s)", a.sql), want: want, ok: a.ok && refIsNum(a.want)}
	}
}

func genBool(r *rand.Rand, depth int) *gnode {
	if r.IntN(3) == 0 {
		return genExpr(r, depth) // sometimes not BOOLEAN at all
	}
	for {
		g := genExpr(r, depth)
		if g.want.Kind == types.Boolean {
			return g
		}
	}
}

func genLeaf(r *rand.Rand) *gnode {
	if r.IntN(4) == 0 {
		lits := []struct {
			sql string
			t   types.Type
		}{
			{"7", types.IntType}, {"3000000000", types.BigIntType}, {"2.50", types.DecimalType(3, 2)},
			{"0.125", types.DecimalType(3, 3)}, {"1.5E0", types.DoubleType}, {"'abc'", types.StringType},
			{"TRUE", types.BooleanType}, {"FALSE", types.BooleanType},
		}
		l := lits[r.IntN(len(lits))]
		return &gnode{op: "lit", sql: l.sql, want: nn(l.t), ok: true}
	}
	c := randCols[r.IntN(len(randCols))]
	return &gnode{op: "col", sql: c.name, want: c.t, ok: true}
}

// ---- the check ----

func isConst(g *gnode) bool { return g.op == "lit" || (g.op == "neg" && isConst(g.kids[0])) }

func sameType(a, b types.Type) bool {
	return a.Kind == b.Kind && a.Precision == b.Precision && a.Scale == b.Scale && a.Length == b.Length && a.NotNull == b.NotNull && a.LocalZone == b.LocalZone
}

func checkNode(t *testing.T, sql string, g *gnode, e *expr.Expr) {
	t.Helper()
	if !sameType(e.Type.Plain(), g.want) {
		t.Fatalf("%s\n  node %s: analyzer says %s, the rules say %s", sql, g.sql, e.Type, g.want)
	}
	var args []*expr.Expr
	switch g.op {
	case "col", "lit":
		return
	case "%":
		if e.Func == expr.FuncCast {
			e = e.Args[0]
		}
		args = e.Args
	case "cast":
		if sameType(g.kids[0].want, g.want) {
			args = []*expr.Expr{e} // a cast to the same type is dropped
		} else if e.Kind == expr.KindLiteral {
			return // a cast of a literal is folded
		} else {
			args = e.Args
		}
	case "neg":
		if e.Kind == expr.KindLiteral {
			return
		}
		args = e.Args
	case "ts+", "ts-":
		args = e.Args[:1]
	default:
		args = e.Args
	}
	if len(args) != len(g.kids) {
		t.Fatalf("%s\n  node %s: %d arguments, want %d (%s)", sql, g.sql, len(args), len(g.kids), e.Func)
	}
	for i, k := range g.kids {
		a := args[i]
		if isConst(k) {
			continue // literals may be folded into the type their context needs
		}
		if !sameType(a.Type.Plain(), k.want) && a.Kind == expr.KindCall && a.Func == expr.FuncCast {
			a = a.Args[0] // an implicit cast the analyzer added
		}
		checkNode(t, sql, k, a)
	}
}

func TestRandomExpressionTypes(t *testing.T) {
	reg := testRegistry(t)
	var cols []string
	for _, c := range randCols {
		cols = append(cols, fmt.Sprintf("%s %s", c.name, c.t))
	}
	ddl := fmt.Sprintf("CREATE TABLE r (%s) WITH ('connector' = 'memory');\n", strings.Join(cols, ", "))
	seed := uint64(20261125)
	r := rand.New(rand.NewPCG(seed, 1))
	valid, invalid := 0, 0
	for i := 0; i < 3000; i++ {
		g := genExpr(r, 1+r.IntN(4))
		sql := fmt.Sprintf("SELECT %s AS e FROM r;", g.sql)
		s, err := analyzeSQL(t, reg, "rand.sql", ddl+sql)
		if !g.ok {
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
		var top *expr.Expr
		if p, ok := s.Sinks[0].Input.(*logical.Project); ok && len(p.Exprs) == 1 {
			top = p.Exprs[0]
		} else {
			t.Fatalf("%s: want a one-column Project, got %T", sql, s.Sinks[0].Input)
		}
		checkNode(t, sql, g, top)
	}
	if valid < 500 || invalid < 100 {
		t.Fatalf("generator too lopsided: %d valid, %d invalid", valid, invalid)
	}
	t.Logf("%d valid and %d invalid expressions checked", valid, invalid)
}
