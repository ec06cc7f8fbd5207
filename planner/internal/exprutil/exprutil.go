package exprutil

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Walk calls fn on e and, while fn returns true, on its arguments, depth
// first.
func Walk(e *expr.Expr, fn func(*expr.Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	for _, a := range e.Args {
		Walk(a, fn)
	}
}

// AddRefs marks in used every column index in [0, len(used)) that e reads.
// Indices outside that range are ignored.
func AddRefs(used []bool, e *expr.Expr) {
	Walk(e, func(n *expr.Expr) bool {
		if n.Kind == expr.KindColumn && n.Column >= 0 && n.Column < len(used) {
			used[n.Column] = true
		}
		return true
	})
}

// CountRefs adds to counts[i] the number of times e reads column i, for i in
// [0, len(counts)).
func CountRefs(counts []int, e *expr.Expr) {
	Walk(e, func(n *expr.Expr) bool {
		if n.Kind == expr.KindColumn && n.Column >= 0 && n.Column < len(counts) {
			counts[n.Column]++
		}
		return true
	})
}

// Any reports whether fn holds for e or any node below it.
func Any(e *expr.Expr, fn func(*expr.Expr) bool) bool {
	found := false
	Walk(e, func(n *expr.Expr) bool {
		if found {
			return false
		}
		if fn(n) {
			found = true
			return false
		}
		return true
	})
	return found
}

// MaxColumn returns the largest column index e reads, or -1 if it reads none.
func MaxColumn(e *expr.Expr) int {
	m := -1
	Walk(e, func(n *expr.Expr) bool {
		if n.Kind == expr.KindColumn && n.Column > m {
			m = n.Column
		}
		return true
	})
	return m
}

// Substitute returns e with every reference to column i, for i in
// [0, len(cols)), replaced by cols[i]. Other column references are kept.
func Substitute(e *expr.Expr, cols []*expr.Expr) *expr.Expr {
	if e == nil {
		return nil
	}
	switch e.Kind {
	case expr.KindColumn:
		if e.Column >= 0 && e.Column < len(cols) && cols[e.Column] != nil {
			return cols[e.Column]
		}
		return e
	case expr.KindCall:
		if len(e.Args) == 0 {
			return e
		}
		args := make([]*expr.Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = Substitute(a, cols)
		}
		c := *e
		c.Args = args
		return &c
	}
	return e
}

// Remap returns e with every reference to column i replaced by a reference
// to column m[i], keeping its type. Columns outside m are kept.
func Remap(e *expr.Expr, m []int) *expr.Expr {
	if e == nil {
		return nil
	}
	switch e.Kind {
	case expr.KindColumn:
		if e.Column >= 0 && e.Column < len(m) {
			return expr.Col(m[e.Column], e.Type)
		}
		return e
	case expr.KindCall:
		if len(e.Args) == 0 {
			return e
		}
		args := make([]*expr.Expr, len(e.Args))
		for i, a := range e.Args {
			args[i] = Remap(a, m)
		}
		c := *e
		c.Args = args
		return &c
	}
	return e
}

// Equal reports whether a and b are the same expression, types included.
func Equal(a, b *expr.Expr) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.Type != b.Type {
		return false
	}
	switch a.Kind {
	case expr.KindColumn:
		return a.Column == b.Column
	case expr.KindLiteral:
		if a.Literal == nil || b.Literal == nil {
			return a.Literal == b.Literal
		}
		return *a.Literal == *b.Literal
	case expr.KindCall:
		if a.Func != b.Func || a.UDF != b.UDF || len(a.Args) != len(b.Args) {
			return false
		}
		for i := range a.Args {
			if !Equal(a.Args[i], b.Args[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// Fingerprint returns a string that is equal for two expressions exactly
// when Equal holds for them.
func Fingerprint(e *expr.Expr) string {
	b, err := json.Marshal(e)
	if err != nil {
		// An Expr is plain data; Marshal cannot fail on it.
		return "!" + err.Error()
	}
	return string(b)
}

// IsColumn returns the index e reads if e is a bare column reference.
func IsColumn(e *expr.Expr) (int, bool) {
	if e != nil && e.Kind == expr.KindColumn {
		return e.Column, true
	}
	return 0, false
}

// IsIdentity reports whether exprs are exactly the columns 0..n-1 of an
// input with n columns, in order.
func IsIdentity(exprs []*expr.Expr, n int) bool {
	if len(exprs) != n {
		return false
	}
	for i, e := range exprs {
		if c, ok := IsColumn(e); !ok || c != i {
			return false
		}
	}
	return true
}

// MayFail reports whether evaluating e can raise an error on some row
// (division or MOD by zero, a CAST of a value that does not convert, a
// user-defined function), so
// that it must not be evaluated on rows an earlier filter would have removed.
func MayFail(e *expr.Expr) bool {
	return Any(e, func(n *expr.Expr) bool {
		if n.Kind != expr.KindCall {
			return false
		}
		switch n.Func {
		case expr.FuncDiv, expr.FuncMod, expr.FuncUDF:
			// A user-defined function may fail on any input.
			return true
		case expr.FuncCast:
			return len(n.Args) != 1 || n.Args[0].Kind != expr.KindLiteral
		}
		return false
	})
}

// IsExpensive reports whether e computes anything (is a call), as opposed to
// reading a column or a constant.
func IsExpensive(e *expr.Expr) bool { return e != nil && e.Kind == expr.KindCall }

// Conjuncts splits e into the terms of its top-level ANDs.
func Conjuncts(e *expr.Expr) []*expr.Expr {
	if e == nil {
		return nil
	}
	if e.Kind == expr.KindCall && e.Func == expr.FuncAnd && len(e.Args) == 2 {
		return append(Conjuncts(e.Args[0]), Conjuncts(e.Args[1])...)
	}
	return []*expr.Expr{e}
}

// And joins terms with AND, left to right; nil terms are skipped. It returns
// nil when no term is left.
func And(terms ...*expr.Expr) *expr.Expr {
	var out *expr.Expr
	for _, t := range terms {
		switch {
		case t == nil:
		case out == nil:
			out = t
		default:
			bt := types.BooleanType
			bt.NotNull = out.Type.NotNull && t.Type.NotNull
			out = expr.Call(expr.FuncAnd, bt, out, t)
		}
	}
	return out
}

// IsTrue reports whether e is the literal TRUE.
func IsTrue(e *expr.Expr) bool {
	return e != nil && e.Kind == expr.KindLiteral && e.Literal != nil && !e.Literal.Null &&
		e.Type.Kind == types.Boolean && strings.EqualFold(e.Literal.Value, "true")
}

// IntConst returns the value of an integer constant: a non-NULL INT, BIGINT
// or scale-0 DECIMAL literal, possibly under CASTs to integer types.
func IntConst(e *expr.Expr) (int64, bool) {
	for e != nil && e.Kind == expr.KindCall && e.Func == expr.FuncCast && len(e.Args) == 1 {
		switch e.Type.Kind {
		case types.Int, types.BigInt:
		case types.Decimal:
			if e.Type.Scale != 0 {
				return 0, false
			}
		default:
			return 0, false
		}
		e = e.Args[0]
	}
	if e == nil || e.Kind != expr.KindLiteral || e.Literal == nil || e.Literal.Null {
		return 0, false
	}
	switch e.Type.Kind {
	case types.Int, types.BigInt:
	case types.Decimal:
		if e.Type.Scale != 0 {
			return 0, false
		}
	default:
		return 0, false
	}
	v, err := strconv.ParseInt(e.Literal.Value, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
