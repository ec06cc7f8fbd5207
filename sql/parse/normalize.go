package parse

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// normalize rewrites TiDB's AST of a query after parsing, so that the
// analyzer sees plain function calls where TiDB has special nodes or where
// the token rewrite left wrappers:
//
//   - __eddy_filter(agg(args), cond) becomes agg(args), its condition
//     recorded for Query.AggFilter (a user function so wrapped becomes an
//     *ast.AggregateFuncExpr: only aggregates take FILTER);
//   - __eddy_first_value(x), __eddy_last_value(x) become the aggregate
//     calls FIRST_VALUE(x), LAST_VALUE(x) (*ast.AggregateFuncExpr);
//   - __eddy_regexp(s, p) becomes the call REGEXP(s, p);
//   - s [NOT] LIKE p [ESCAPE 'c'] becomes [NOT] LIKE(s, p [, 'c']) (ILIKE
//     likewise), s [NOT] REGEXP p becomes [NOT] REGEXP(s, p);
//   - TRIM's direction (BOTH, LEADING, TRAILING) becomes a string literal
//     argument; so does the unit of EXTRACT, TIMESTAMPDIFF and TIMESTAMPADD;
//   - l IS [NOT] DISTINCT FROM r, written l <=> r for TiDB, is l <=> r
//     (IS NOT DISTINCT FROM) or NOT l <=> r (IS DISTINCT FROM);
//   - the condition __eddy_full(cond) of a FULL JOIN (written as a LEFT
//     JOIN) becomes cond, and the join is recorded for Query.IsFullJoin.
//
// Every node it makes has the offset of the node it replaces.
func (q *Query) normalize() error {
	v := &normalizer{q: q}
	node, _ := ast.Node(q.Node).Accept(v)
	if v.err != nil {
		return v.err
	}
	if rs, ok := node.(ast.ResultSetNode); ok {
		q.Node = rs
	}
	return nil
}

type normalizer struct {
	q   *Query
	err error
}

func (v *normalizer) Enter(n ast.Node) (ast.Node, bool) { return n, v.err != nil }

func (v *normalizer) errorf(n ast.Node, format string, args ...any) {
	if v.err == nil {
		v.err = v.q.Errorf(v.q.PosOfOffset(n.OriginTextPosition()), format, args...)
	}
}

// call returns a call of name with args, at the offset of the node it
// replaces.
func call(name string, off int, args ...ast.ExprNode) *ast.FuncCallExpr {
	c := &ast.FuncCallExpr{FnName: ast.NewCIStr(name), Args: args}
	c.SetOriginTextPosition(off)
	return c
}

// str returns a string literal at offset off.
func str(s string, off int) ast.ExprNode {
	v := ast.NewValueExpr(s, "", "")
	v.SetOriginTextPosition(off)
	return v
}

// not negates e, at e's offset.
func not(e ast.ExprNode) ast.ExprNode {
	u := &ast.UnaryOperationExpr{Op: opcode.Not, V: e}
	u.SetOriginTextPosition(e.OriginTextPosition())
	return u
}

// toAgg turns the call c into an aggregate call named name.
func toAgg(c *ast.FuncCallExpr, name string) *ast.AggregateFuncExpr {
	a := &ast.AggregateFuncExpr{F: name, Args: c.Args}
	a.SetOriginTextPosition(c.OriginTextPosition())
	return a
}

func (v *normalizer) Leave(n ast.Node) (ast.Node, bool) {
	if v.err != nil {
		return n, false
	}
	switch x := n.(type) {
	case *ast.Join:
		if x.On != nil {
			if c, ok := x.On.Expr.(*ast.FuncCallExpr); ok && c.FnName.L == reservedPrefix+"full" {
				if len(c.Args) != 1 || x.Tp != ast.LeftJoin {
					v.errorf(c, "syntax error in the condition of the FULL JOIN")
					return n, false
				}
				x.On.Expr = c.Args[0]
				v.q.stmt.fullJoins[x] = true
			}
		}
	case *ast.FuncCallExpr:
		switch x.FnName.L {
		case reservedPrefix + "filter":
			if len(x.Args) != 2 {
				v.errorf(x, "FILTER (WHERE ...) takes one condition")
				return n, false
			}
			var agg *ast.AggregateFuncExpr
			switch a := x.Args[0].(type) {
			case *ast.AggregateFuncExpr:
				agg = a
			case *ast.FuncCallExpr:
				if hasReservedPrefix(a.FnName.L) {
					v.errorf(a, "FILTER (WHERE ...) only applies to aggregate function calls")
					return n, false
				}
				agg = toAgg(a, a.FnName.O)
			default:
				v.errorf(x, "FILTER (WHERE ...) only applies to aggregate function calls")
				return n, false
			}
			if _, dup := v.q.stmt.aggFilters[agg]; dup {
				v.errorf(x, "an aggregate call takes one FILTER clause")
				return n, false
			}
			v.q.stmt.aggFilters[agg] = x.Args[1]
			return agg, true
		case reservedPrefix + "first_value":
			return toAgg(x, "FIRST_VALUE"), true
		case reservedPrefix + "last_value":
			return toAgg(x, "LAST_VALUE"), true
		case reservedPrefix + "regexp":
			x.FnName = ast.NewCIStr("REGEXP")
		case "trim":
			for i, a := range x.Args {
				if d, ok := a.(*ast.TrimDirectionExpr); ok {
					dir := "BOTH"
					switch d.Direction {
					case ast.TrimLeading:
						dir = "LEADING"
					case ast.TrimTrailing:
						dir = "TRAILING"
					}
					x.Args[i] = str(dir, x.OriginTextPosition())
				}
			}
		case "extract", "timestampdiff", "timestampadd":
			for i, a := range x.Args {
				if u, ok := a.(*ast.TimeUnitExpr); ok {
					x.Args[i] = str(strings.ToUpper(u.Unit.String()), x.OriginTextPosition())
				}
			}
		}
	case *ast.PatternLikeOrIlikeExpr:
		name := "LIKE"
		if !x.IsLike {
			name = "ILIKE"
		}
		args := []ast.ExprNode{x.Expr, x.Pattern}
		if x.EscapeExplicit {
			esc := ""
			if x.Escape != 0 {
				esc = string(rune(x.Escape))
			}
			args = append(args, str(esc, x.OriginTextPosition()))
		}
		var e ast.ExprNode = call(name, x.OriginTextPosition(), args...)
		if x.Not {
			e = not(e)
		}
		return e, true
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.NullEQ && x.R != nil && v.q.stmt.distinct[x.R.OriginTextPosition()] {
			return not(x), true // IS DISTINCT FROM
		}
	case *ast.PatternRegexpExpr:
		var e ast.ExprNode = call("REGEXP", x.OriginTextPosition(), x.Expr, x.Pattern)
		if x.Not {
			e = not(e)
		}
		return e, true
	}
	return n, true
}
