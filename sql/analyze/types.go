package analyze

import (
	"github.com/eddy-streaming/eddy/engine/types"
)

// maxDecimalPrecision is Flink's DecimalType.MAX_PRECISION.
const maxDecimalPrecision = 38

// minAdjustedScale is LogicalTypeMerging.MINIMUM_ADJUSTED_SCALE.
const minAdjustedScale = 6

// isInteger reports whether t is INT or BIGINT.
func isInteger(t types.Type) bool { return t.Kind == types.Int || t.Kind == types.BigInt }

// isExact reports whether t is an exact numeric type.
func isExact(t types.Type) bool { return isInteger(t) || t.Kind == types.Decimal }

// asDecimal returns the decimal type that holds every value of the exact
// numeric type t (Flink: INT as DECIMAL(10, 0), BIGINT as DECIMAL(19, 0)).
func asDecimal(t types.Type) types.Type {
	switch t.Kind {
	case types.Int:
		return types.DecimalType(10, 0)
	case types.BigInt:
		return types.DecimalType(19, 0)
	}
	return types.DecimalType(t.Precision, t.Scale)
}

// adjustDecimal is LogicalTypeMerging.adjustPrecisionScale: past the
// maximum precision, scale is given up (down to at most 6 digits) to keep
// the integral digits.
func adjustDecimal(p, s int) types.Type {
	if p <= maxDecimalPrecision {
		return types.DecimalType(p, s)
	}
	digits := p - s
	minScale := min(s, minAdjustedScale)
	return types.DecimalType(maxDecimalPrecision, max(maxDecimalPrecision-digits, minScale))
}

// decimalArith is the result type of a decimal operation op (one of + - * /
// %) on DECIMAL(p1, s1) and DECIMAL(p2, s2), as Flink derives it.
func decimalArith(op string, a, b types.Type) types.Type {
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	switch op {
	case "+", "-":
		s := max(s1, s2)
		return adjustDecimal(max(p1-s1, p2-s2)+s+1, s)
	case "*":
		return adjustDecimal(p1+p2+1, s1+s2)
	case "/":
		s := max(minAdjustedScale, s1+p2+1)
		return adjustDecimal(p1-s1+s2+s, s)
	default: // "%"
		s := max(s1, s2)
		return adjustDecimal(min(p1-s1, p2-s2)+s, s)
	}
}

// commonType is Flink's common type of a and b (LogicalTypeMerging
// .findCommonType), ignoring nullability: the type both can be implicitly
// cast to for comparison or for CASE branches. NULL types take the other's
// type. ok is false when there is none.
func commonType(a, b types.Type) (types.Type, bool) {
	a, b = a.Plain().Nullable(), b.Plain().Nullable()
	switch {
	case a.Kind == types.Null:
		return b, true
	case b.Kind == types.Null:
		return a, true
	case a == b:
		return a, true
	}
	switch {
	case a.IsNumeric() && b.IsNumeric():
		if a.Kind == types.Double || b.Kind == types.Double {
			return types.DoubleType, true
		}
		if isInteger(a) && isInteger(b) {
			if a.Kind == types.BigInt || b.Kind == types.BigInt {
				return types.BigIntType, true
			}
			return types.IntType, true
		}
		da, db := asDecimal(a), asDecimal(b)
		d := min(max(da.Precision-da.Scale, db.Precision-db.Scale), maxDecimalPrecision)
		s := min(max(da.Scale, db.Scale), maxDecimalPrecision-d)
		return types.DecimalType(d+s, s), true
	case a.Kind == types.String && b.Kind == types.String:
		if a.Length == 0 || b.Length == 0 {
			return types.StringType, true
		}
		return types.Type{Kind: types.String, Length: max(a.Length, b.Length)}, true
	case a.Kind == types.Timestamp && b.Kind == types.Timestamp:
		// TIMESTAMP and TIMESTAMP_LTZ generalize to TIMESTAMP_LTZ.
		return types.Type{Kind: types.Timestamp, Precision: max(a.Precision, b.Precision), LocalZone: a.LocalZone || b.LocalZone}, true
	case a.Kind == b.Kind:
		return a, true
	}
	return types.Type{}, false
}

// implicitCast reports whether Flink casts from to to without being asked
// (LogicalTypeCasts.supportsImplicitCast), as it does when inserting into a
// sink column: INT to BIGINT, any number to DECIMAL or DOUBLE, any string
// into any string, TIMESTAMP and TIMESTAMP_LTZ into each other, and equal
// types.
func implicitCast(from, to types.Type) bool {
	from, to = from.Plain().Nullable(), to.Plain().Nullable()
	if from.Kind == types.Null {
		return to.Kind != types.Interval && to.Kind != types.Null
	}
	switch to.Kind {
	case types.Int:
		return from.Kind == types.Int
	case types.BigInt:
		return isInteger(from)
	case types.Decimal, types.Double:
		return from.IsNumeric()
	case types.String:
		return from.Kind == types.String
	case types.Timestamp:
		return from.Kind == types.Timestamp
	}
	return from.Kind == to.Kind && from == to
}

// explicitCast reports whether CAST(x AS to) is supported for x of type from.
func explicitCast(from, to types.Type) bool {
	from, to = from.Plain(), to.Plain()
	switch {
	case from.Kind == types.Null:
		return to.Kind != types.Interval && to.Kind != types.Null
	case from.Kind == types.Interval || to.Kind == types.Interval || to.Kind == types.Null:
		return false
	case from.Kind == to.Kind:
		return true
	case from.Kind == types.String || to.Kind == types.String:
		return true // every supported type converts to and from text
	case from.IsNumeric() && to.IsNumeric():
		return true
	case from.Kind == types.Boolean && to.IsNumeric(), isInteger(from) && to.Kind == types.Boolean:
		return true
	}
	// TIMESTAMP to or from numbers is not allowed (Flink since 1.15).
	return false
}
