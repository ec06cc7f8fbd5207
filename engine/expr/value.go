package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// scalar is one constant value of a known type, parsed once at Compile.
// Exactly one payload field is meaningful, chosen by the type's Kind:
// b (BOOLEAN), i (INT, BIGINT, TIMESTAMP, INTERVAL), f (DOUBLE), d (DECIMAL)
// or s (STRING).
type scalar struct {
	null bool
	b    bool
	i    int64
	f    float64
	d    decimal128.Num
	s    string
}

// value is what a node produces: a column (arr, owned by the receiver) or a
// constant broadcast to every row (sc).
type value struct {
	arr arrow.Array
	sc  *scalar
}

// release drops v's column reference, if any.
func (v value) release() {
	if v.arr != nil {
		v.arr.Release()
	}
}

// isNullScalar reports whether v is the constant NULL.
func (v value) isNullScalar() bool { return v.sc != nil && v.sc.null }

// parseLiteral parses the canonical text form of a literal of type t (see
// Literal).
func parseLiteral(l *Literal, t types.Type) (*scalar, error) {
	if l == nil {
		return nil, fmt.Errorf("literal of type %s has no value", t)
	}
	if l.Null || t.Kind == types.Null {
		return &scalar{null: true}, nil
	}
	v := l.Value
	sc := &scalar{}
	switch t.Kind {
	case types.Boolean:
		switch v {
		case "true":
			sc.b = true
		case "false":
		default:
			return nil, fmt.Errorf("BOOLEAN literal %q: want true or false", v)
		}
	case types.Int, types.BigInt, types.Timestamp, types.Interval:
		bits := 64
		if t.Kind == types.Int {
			bits = 32
		}
		x, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return nil, fmt.Errorf("%s literal %q: %s", t.Kind, v, numErrReason(err))
		}
		sc.i = x
	case types.Double:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil && !(errors.Is(err, strconv.ErrRange) && math.IsInf(x, 0)) {
			return nil, fmt.Errorf("DOUBLE literal %q: %s", v, numErrReason(err))
		}
		sc.f = x
	case types.Decimal:
		if err := checkDecimalType(t); err != nil {
			return nil, err
		}
		d, ok := parseDecimalLiteral(v, t.Precision, t.Scale)
		if !ok {
			return nil, fmt.Errorf("%s literal %q: want plain decimal text with %d fractional digits that fits the precision", t, v, t.Scale)
		}
		sc.d = d
	case types.String:
		sc.s = v
	default:
		return nil, fmt.Errorf("literal of unsupported type %s", t)
	}
	return sc, nil
}

// parseDecimalLiteral parses "[-]digits[.digits]" with at most scale
// fractional digits (fewer are padded) into an unscaled value that must fit
// precision digits: a literal is exact, so unlike CAST it is never
// rounded, and it has no exponent.
func parseDecimalLiteral(v string, precision, scale int) (decimal128.Num, bool) {
	_, frac, _ := strings.Cut(v, ".")
	if len(frac) > scale || strings.ContainsAny(v, "eE") {
		return decimal128.Num{}, false
	}
	d, err := sqltext.ParseDecimal([]byte(v), precision, scale)
	return d, err == nil
}

// checkDecimalType reports whether t is a DECIMAL Arrow's decimal128 holds.
func checkDecimalType(t types.Type) error {
	if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
		return fmt.Errorf("%s is not a valid type: precision must be in [1, 38] and scale in [0, precision]", t)
	}
	return nil
}

// broadcast materializes a scalar as a column of n rows of type t.
func broadcast(mem memory.Allocator, sc *scalar, t types.Type, n int) arrow.Array {
	dt := t.Arrow()
	if sc.null || t.Kind == types.Null {
		return nullArray(mem, dt, n)
	}
	switch t.Kind {
	case types.Boolean:
		vb, v := newBitmap(mem, n)
		if sc.b {
			bitutil.SetBitsTo(v, 0, int64(n), true)
		}
		return makeArray(dt, n, 0, nil, vb)
	case types.Int:
		b, v := newValues[int32](mem, n)
		x := int32(sc.i)
		for i := range v {
			v[i] = x
		}
		return makeArray(dt, n, 0, nil, b)
	case types.BigInt, types.Timestamp, types.Interval:
		b, v := newValues[int64](mem, n)
		for i := range v {
			v[i] = sc.i
		}
		return makeArray(dt, n, 0, nil, b)
	case types.Double:
		b, v := newValues[float64](mem, n)
		for i := range v {
			v[i] = sc.f
		}
		return makeArray(dt, n, 0, nil, b)
	case types.Decimal:
		b, v := newValues[decimal128.Num](mem, n)
		for i := range v {
			v[i] = sc.d
		}
		return makeArray(dt, n, 0, nil, b)
	case types.String:
		ob, offs := newValues[int32](mem, n+1)
		db := newBuffer(mem, n*len(sc.s))
		data := db.Bytes()
		for i := 0; i < n; i++ {
			offs[i] = int32(i * len(sc.s))
			copy(data[i*len(sc.s):], sc.s)
		}
		offs[n] = int32(n * len(sc.s))
		return makeArray(dt, n, 0, nil, ob, db)
	}
	return nullArray(mem, dt, n)
}

// materialize returns v as a column of n rows of type t, owned by the
// caller. A column value is returned as is (its reference passes on).
func materialize(mem memory.Allocator, v value, t types.Type, n int) arrow.Array {
	if v.arr != nil {
		return v.arr
	}
	return broadcast(mem, v.sc, t, n)
}

// scalarAt reads row i of arr (of type t) as a scalar.
func scalarAt(arr arrow.Array, t types.Type, i int) *scalar {
	if arr.IsNull(i) {
		return &scalar{null: true}
	}
	sc := &scalar{}
	switch t.Kind {
	case types.Boolean:
		sc.b = arr.(*array.Boolean).Value(i)
	case types.Int:
		sc.i = int64(values[int32](arr)[i])
	case types.BigInt, types.Timestamp, types.Interval:
		sc.i = values[int64](arr)[i]
	case types.Double:
		sc.f = values[float64](arr)[i]
	case types.Decimal:
		sc.d = values[decimal128.Num](arr)[i]
	case types.String:
		offs, data := strData(arr)
		sc.s = string(data[offs[i]:offs[i+1]])
	default:
		sc.null = true
	}
	return sc
}

// numErrReason explains a strconv error in a few words.
func numErrReason(err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return "out of range"
	}
	return "not a number"
}
