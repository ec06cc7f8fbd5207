package refeval

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Row is one row of values.
type Row []any

// Key renders values as a comparable string, NULLs included.
func Key(vals ...any) string {
	var sb strings.Builder
	for i, v := range vals {
		if i > 0 {
			sb.WriteByte('|')
		}
		if v == nil {
			sb.WriteString("null")
		} else {
			fmt.Fprintf(&sb, "%T:%v", v, v)
		}
	}
	return sb.String()
}

// Format renders a row for multiset comparison.
func Format(r Row) string {
	parts := make([]string, len(r))
	for i, v := range r {
		if v == nil {
			parts[i] = "null"
		} else {
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "|")
}

func literal(e *expr.Expr) (any, error) {
	if e.Literal == nil || e.Literal.Null {
		return nil, nil
	}
	v := e.Literal.Value
	switch e.Type.Kind {
	case types.Boolean:
		return strconv.ParseBool(v)
	case types.Int, types.BigInt, types.Timestamp, types.Interval:
		return strconv.ParseInt(v, 10, 64)
	case types.Double:
		return strconv.ParseFloat(v, 64)
	case types.String:
		return v, nil
	}
	return nil, fmt.Errorf("refeval: literal of type %s", e.Type)
}

// wrap narrows integer results to the width of t (INT wraps at 32 bits).
func wrap(v int64, t types.Type) int64 {
	if t.Kind == types.Int {
		return int64(int32(v))
	}
	return v
}

// Eval evaluates e over row.
func Eval(e *expr.Expr, row Row) (any, error) {
	switch e.Kind {
	case expr.KindColumn:
		if e.Column < 0 || e.Column >= len(row) {
			return nil, fmt.Errorf("refeval: column %d of a %d-column row", e.Column, len(row))
		}
		return row[e.Column], nil
	case expr.KindLiteral:
		return literal(e)
	}
	// Three-valued logic first: it does not evaluate eagerly to NULL.
	switch e.Func {
	case expr.FuncAnd, expr.FuncOr:
		a, err := Eval(e.Args[0], row)
		if err != nil {
			return nil, err
		}
		b, err := Eval(e.Args[1], row)
		if err != nil {
			return nil, err
		}
		stop := e.Func == expr.FuncOr // TRUE decides OR, FALSE decides AND
		if a == stop || b == stop {
			return stop, nil
		}
		if a == nil || b == nil {
			return nil, nil
		}
		return !stop, nil
	case expr.FuncCase:
		i := 0
		for ; i+1 < len(e.Args); i += 2 {
			c, err := Eval(e.Args[i], row)
			if err != nil {
				return nil, err
			}
			if c == true {
				return Eval(e.Args[i+1], row)
			}
		}
		if i < len(e.Args) {
			return Eval(e.Args[i], row)
		}
		return nil, nil
	case expr.FuncIsNull, expr.FuncIsNotNull:
		a, err := Eval(e.Args[0], row)
		if err != nil {
			return nil, err
		}
		return (a == nil) == (e.Func == expr.FuncIsNull), nil
	}
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		v, err := Eval(a, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, nil
		}
		args[i] = v
	}
	switch e.Func {
	case expr.FuncNot:
		return !args[0].(bool), nil
	case expr.FuncNeg:
		switch x := args[0].(type) {
		case int64:
			return wrap(-x, e.Type), nil
		case float64:
			return -x, nil
		}
	case expr.FuncCast:
		return cast(args[0], e.Type)
	case expr.FuncEq, expr.FuncNe, expr.FuncLt, expr.FuncLe, expr.FuncGt, expr.FuncGe:
		c, err := Compare(args[0], args[1])
		if err != nil {
			return nil, err
		}
		switch e.Func {
		case expr.FuncEq:
			return c == 0, nil
		case expr.FuncNe:
			return c != 0, nil
		case expr.FuncLt:
			return c < 0, nil
		case expr.FuncLe:
			return c <= 0, nil
		case expr.FuncGt:
			return c > 0, nil
		default:
			return c >= 0, nil
		}
	case expr.FuncAdd, expr.FuncSub, expr.FuncMul, expr.FuncDiv, expr.FuncMod:
		return arith(e.Func, args[0], args[1], e.Type)
	case expr.FuncTumbleStart:
		ts, ok1 := args[0].(int64)
		size, ok2 := args[1].(int64)
		off, ok3 := args[2].(int64)
		if !ok1 || !ok2 || !ok3 || size <= 0 {
			return nil, fmt.Errorf("refeval: cannot %s over %v", e.Func, args)
		}
		return windowStart(ts, jobgraph.WindowSpec{SizeMs: size, OffsetMs: off}), nil
	case expr.FuncHashCode:
		// Which bucket a value lands in does not change a split
		// aggregate's result; the engine's hash is used as is.
		switch x := args[0].(type) {
		case int64:
			return int64(expr.HashInt64(x)), nil
		case bool:
			return int64(expr.HashBool(x)), nil
		case float64:
			return int64(expr.HashFloat64(x)), nil
		case string:
			return int64(expr.HashString([]byte(x))), nil
		}
	}
	return nil, fmt.Errorf("refeval: cannot evaluate %s over %v", e.Func, args)
}

func arith(fn string, a, b any, t types.Type) (any, error) {
	x, xok := a.(int64)
	y, yok := b.(int64)
	if xok && yok {
		switch fn {
		case expr.FuncAdd:
			return wrap(x+y, t), nil
		case expr.FuncSub:
			return wrap(x-y, t), nil
		case expr.FuncMul:
			return wrap(x*y, t), nil
		case expr.FuncDiv, expr.FuncMod:
			if y == 0 {
				return nil, fmt.Errorf("refeval: division by zero")
			}
			if fn == expr.FuncDiv {
				return wrap(x/y, t), nil
			}
			return wrap(x%y, t), nil
		}
	}
	f, fok := toFloat(a)
	g, gok := toFloat(b)
	if fok && gok {
		switch fn {
		case expr.FuncAdd:
			return f + g, nil
		case expr.FuncSub:
			return f - g, nil
		case expr.FuncMul:
			return f * g, nil
		case expr.FuncDiv:
			return f / g, nil
		case expr.FuncMod:
			return math.Mod(f, g), nil
		}
	}
	return nil, fmt.Errorf("refeval: cannot %s %v and %v", fn, a, b)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func cast(v any, t types.Type) (any, error) {
	switch t.Kind {
	case types.Int, types.BigInt, types.Timestamp:
		switch x := v.(type) {
		case int64:
			return wrap(x, t), nil
		case float64:
			return wrap(int64(x), t), nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("refeval: cannot cast %q to %s", x, t)
			}
			return wrap(n, t), nil
		}
	case types.Double:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case types.String:
		return fmt.Sprint(v), nil
	case types.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("refeval: cannot cast %v to %s", v, t)
}

// Compare orders two non-NULL values of the same family.
func Compare(a, b any) (int, error) {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp3(x < y, x > y), nil
		}
	case float64:
		if y, ok := toFloat(b); ok {
			return cmp3(x < y, x > y), nil
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp3(!x && y, x && !y), nil
		}
	}
	if x, ok := toFloat(a); ok {
		if y, ok := toFloat(b); ok {
			return cmp3(x < y, x > y), nil
		}
	}
	return 0, fmt.Errorf("refeval: cannot compare %v with %v", a, b)
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}
