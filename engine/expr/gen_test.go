package expr

// Random data and random well-typed expressions for the property tests.

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// interestingStrings feed the casts from text: valid and invalid numbers,
// booleans and timestamps, blanks and non-ASCII text.
var interestingStrings = []string{
	"", " ", "0", "1", "-1", "+7", " 42 ", "\t-13\n", "12.7", "-12.7", ".5", "5.", "-.5", "+.", "1e3", "1E-2", "-2.5e+1",
	"2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "99999999999999999999999999999999999999", "123456789012345678901234567890.123456789",
	"0.000000000000000000000000000000000000001", "1.5f", "2.25d", "NaN", "Infinity", "-Infinity", "inf", "nan", "0x10",
	"1_000", "abc", "1a", "--1", "1..2", "e5", "1e", "true", "FALSE", "t", "No", "y", "yes", "maybe",
	"2024-02-29 23:59:59.999", "2023-02-29 00:00:00", "1970-01-01", "1969-12-31 23:59:59.5", "2024-1-2 3:4:5",
	"2024-01-02T03:04:05.123456789", "2024-01-02 24:00:00", "2024-13-01", "20240101", "héllo wörld", "日本語テキスト",
	"a'quote", "éé", "🙂🙃", "abcdefghijklmnopqrstuvwxyz",
}

// randomColumn builds an n-row column of type t with about nullRate NULLs;
// it is a slice of a larger array, so its offset is often non-zero.
func randomColumn(r *rand.Rand, mem memory.Allocator, t types.Type, n int, nullRate float64) arrow.Array {
	off := 0
	if r.IntN(2) == 0 {
		off = r.IntN(13)
	}
	total := off + n + r.IntN(5)
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	for i := 0; i < total; i++ {
		if r.Float64() < nullRate {
			b.AppendNull()
			continue
		}
		switch t.Kind {
		case types.Boolean:
			b.(*array.BooleanBuilder).Append(r.IntN(2) == 0)
		case types.Int:
			b.(*array.Int32Builder).Append(int32(randomInt(r, 32)))
		case types.BigInt:
			b.(*array.Int64Builder).Append(randomInt(r, 64))
		case types.Interval:
			b.(*array.DurationBuilder).Append(arrow.Duration(randomInt(r, 40)))
		case types.Timestamp:
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(randomTimestamp(r)))
		case types.Double:
			b.(*array.Float64Builder).Append(randomDouble(r))
		case types.Decimal:
			b.(*array.Decimal128Builder).Append(decimal128.FromBigInt(randomUnscaled(r, t.Precision)))
		case types.String:
			b.(*array.StringBuilder).Append(randomString(r))
		}
	}
	full := b.NewArray()
	defer full.Release()
	return array.NewSlice(full, int64(off), int64(off+n))
}

// randomInt returns an integer of the given bit size, biased to edges and
// small values; zero is rare so that divisions mostly succeed.
func randomInt(r *rand.Rand, bits int) int64 {
	lo, hi := -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
	if bits == 64 {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	switch k := r.IntN(100); {
	case k < 1:
		return 0
	case k < 6:
		return []int64{lo, hi, lo + 1, hi - 1, -1, 1}[r.IntN(6)]
	case k < 60:
		x := r.Int64N(20) - 10
		if x == 0 {
			x = 3
		}
		return x
	case k < 80:
		return r.Int64N(2_000_001) - 1_000_000
	default:
		x := int64(r.Uint64())
		if bits == 32 {
			x = int64(int32(x))
		}
		if bits == 40 {
			x %= 1 << 39
		}
		return x
	}
}

// randomTimestamp returns milliseconds between 1900 and 2100, sometimes
// around the epoch.
func randomTimestamp(r *rand.Rand) int64 {
	if r.IntN(10) == 0 {
		return r.Int64N(20_000) - 10_000
	}
	return r.Int64N(6_311_390_400_000) - 2_208_988_800_000
}

// randomDouble returns a double, biased to special values and halves.
func randomDouble(r *rand.Rand) float64 {
	switch k := r.IntN(100); {
	case k < 8:
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, 1e7, 1e-3, 9999999.999,
			0.001, 1e300, -1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, 2.5, -2.5, 0.125, 1.005, 1e21}[r.IntN(18)]
	case k < 40:
		return float64(r.IntN(200)-100) / 4
	case k < 70:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(24)-8))
	default:
		return float64(r.Int64N(2_000_000) - 1_000_000)
	}
}

// randomUnscaled returns an unscaled decimal with at most p digits.
func randomUnscaled(r *rand.Rand, p int) *big.Int {
	limit := pow10Big(p)
	var x *big.Int
	switch k := r.IntN(10); {
	case k == 0:
		x = new(big.Int).Sub(limit, big.NewInt(1)) // the largest
	case k == 1:
		x = big.NewInt(0)
	case k < 4:
		x = big.NewInt(r.Int64N(200) - 100)
		if p < 3 {
			x.Mod(x, limit)
		}
	default:
		x = randBig(r, 1+r.IntN(p))
	}
	if r.IntN(2) == 0 {
		x.Neg(x)
	}
	return x
}

// randBig returns a random non-negative integer with up to digits digits.
func randBig(r *rand.Rand, digits int) *big.Int {
	var sb strings.Builder
	for i := 0; i < digits; i++ {
		sb.WriteByte(byte('0' + r.IntN(10)))
	}
	x, _ := new(big.Int).SetString(sb.String(), 10)
	return x
}

// randomString returns text from the interesting list or random runes.
func randomString(r *rand.Rand) string {
	if r.IntN(3) > 0 {
		return interestingStrings[r.IntN(len(interestingStrings))]
	}
	n := r.IntN(12)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		switch r.IntN(6) {
		case 0:
			sb.WriteRune(rune(0x80 + r.IntN(0x700)))
		case 1:
			sb.WriteByte(byte('0' + r.IntN(10)))
		default:
			sb.WriteByte(byte(' ' + r.IntN(95)))
		}
	}
	return sb.String()
}

// randomDecimalType returns DECIMAL(p, s) biased to common and extreme
// precisions.
func randomDecimalType(r *rand.Rand) types.Type {
	ps := []int{1, 2, 5, 9, 10, 18, 19, 20, 28, 37, 38}
	p := ps[r.IntN(len(ps))]
	if r.IntN(3) == 0 {
		p = 1 + r.IntN(38)
	}
	s := r.IntN(p + 1)
	if r.IntN(3) == 0 {
		s = min(p, []int{0, 2, 4}[r.IntN(3)])
	}
	return types.DecimalType(p, s)
}

// adjustDecimal caps a derived decimal type at precision 38 as Flink does.
func adjustDecimal(p, s int) types.Type {
	if p <= 38 {
		return types.DecimalType(max(p, 1), s)
	}
	intDigits := p - s
	minScale := min(s, 6)
	s = max(38-intDigits, minScale)
	return types.DecimalType(38, s)
}

// decimalResult derives the result type of DECIMAL arithmetic as Flink
// does, or (sometimes) picks a random one to exercise rounding and
// overflow.
func decimalResult(r *rand.Rand, fn string, a, b types.Type) types.Type {
	if r.IntN(4) == 0 {
		return randomDecimalType(r)
	}
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	switch fn {
	case FuncAdd, FuncSub:
		s := max(s1, s2)
		return adjustDecimal(max(p1-s1, p2-s2)+s+1, s)
	case FuncMul:
		return adjustDecimal(p1+p2, s1+s2)
	case FuncDiv:
		s := max(6, s1+p2+1)
		return adjustDecimal(p1-s1+s2+s, s)
	default: // mod
		s := max(s1, s2)
		return adjustDecimal(min(p1-s1, p2-s2)+s, s)
	}
}

// exprGen generates random well-typed expressions over a schema.
type exprGen struct {
	r      *rand.Rand
	schema types.Schema
	// pool, when set, holds calls generated so far by kind, which gen then
	// reuses at random (the same node or a copy of it), so that trees have
	// repeated subtrees; it also adds string functions (LOWER, REGEXP,
	// REGEXP_EXTRACT) the reference does not know.
	pool map[types.Kind][]*Expr
}

// columnsOf returns the indices of the columns of kind k.
func (g *exprGen) columnsOf(k types.Kind) []int {
	var out []int
	for i, f := range g.schema.Fields {
		if f.Type.Kind == k {
			out = append(out, i)
		}
	}
	return out
}

// leaf returns a column or a literal of kind k.
func (g *exprGen) leaf(k types.Kind) *Expr {
	if cols := g.columnsOf(k); len(cols) > 0 && g.r.IntN(4) > 0 {
		i := cols[g.r.IntN(len(cols))]
		return Col(i, g.schema.Fields[i].Type)
	}
	return g.literal(g.typeOfKind(k))
}

// typeOfKind returns a type of kind k (a random precision for DECIMAL,
// unless a column offers one).
func (g *exprGen) typeOfKind(k types.Kind) types.Type {
	switch k {
	case types.Decimal:
		if cols := g.columnsOf(k); len(cols) > 0 && g.r.IntN(2) == 0 {
			return g.schema.Fields[cols[g.r.IntN(len(cols))]].Type
		}
		return randomDecimalType(g.r)
	case types.Timestamp:
		return types.TimestampType
	}
	return types.Type{Kind: k}
}

// literal returns a random literal of type t (sometimes NULL).
func (g *exprGen) literal(t types.Type) *Expr {
	r := g.r
	if r.IntN(12) == 0 {
		return NullLit(t)
	}
	var v string
	switch t.Kind {
	case types.Boolean:
		v = strconv.FormatBool(r.IntN(2) == 0)
	case types.Int:
		v = strconv.FormatInt(randomInt(r, 32), 10)
	case types.BigInt:
		v = strconv.FormatInt(randomInt(r, 64), 10)
	case types.Interval:
		v = strconv.FormatInt(randomInt(r, 40), 10)
	case types.Timestamp:
		v = strconv.FormatInt(randomTimestamp(r), 10)
	case types.Double:
		f := randomDouble(r)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 1.5
		}
		v = strconv.FormatFloat(f, 'g', -1, 64)
	case types.Decimal:
		u := randomUnscaled(r, t.Precision)
		v = new(big.Rat).SetFrac(u, pow10Big(t.Scale)).FloatString(t.Scale)
	case types.String:
		v = randomString(r)
	}
	return Lit(v, t)
}

var valueKinds = []types.Kind{types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp}

// gen returns a random expression of kind k.
func (g *exprGen) gen(k types.Kind, depth int) *Expr {
	if g.pool == nil {
		return g.genFresh(k, depth)
	}
	if ps := g.pool[k]; len(ps) > 0 && g.r.IntN(3) == 0 {
		e := ps[g.r.IntN(len(ps))]
		if g.r.IntN(2) == 0 {
			return cloneExpr(e)
		}
		return e
	}
	var e *Expr
	if depth > 0 && g.r.IntN(6) == 0 {
		e = g.stringFunc(k, depth)
	}
	if e == nil {
		e = g.genFresh(k, depth)
	}
	if e.Kind == KindCall {
		g.pool[k] = append(g.pool[k], e)
	}
	return e
}

// cloneExpr returns a deep copy of e.
func cloneExpr(e *Expr) *Expr {
	c := *e
	c.Args = make([]*Expr, len(e.Args))
	for i, a := range e.Args {
		c.Args[i] = cloneExpr(a)
	}
	return &c
}

// regexpPatterns are patterns for the generated REGEXP calls.
var regexpPatterns = []string{`([a-z]+)`, `^(-?\d+)`, `(é|ö)+`, `(\s)`, `^$`}

// stringFunc returns a LOWER, REGEXP or REGEXP_EXTRACT call of kind k, or
// nil when k is neither STRING nor BOOLEAN.
func (g *exprGen) stringFunc(k types.Kind, depth int) *Expr {
	str := types.StringType
	s := g.gen(types.String, depth-1)
	pat := Lit(regexpPatterns[g.r.IntN(len(regexpPatterns))], str)
	switch k {
	case types.String:
		if g.r.IntN(2) == 0 {
			return Call(FuncLower, str, s)
		}
		return Call(FuncRegexpExtract, str, s, pat, Lit("1", types.IntType))
	case types.Boolean:
		return Call(FuncRegexp, types.BooleanType, s, pat)
	}
	return nil
}

// genFresh returns a random expression of kind k, built afresh.
func (g *exprGen) genFresh(k types.Kind, depth int) *Expr {
	r := g.r
	if depth <= 0 || r.IntN(10) < 3 {
		return g.leaf(k)
	}
	d := depth - 1
	if r.IntN(10) == 0 {
		return g.caseOf(k, d)
	}
	if r.IntN(8) == 0 && k != types.Interval {
		return g.cast(k, d)
	}
	switch k {
	case types.Boolean:
		switch r.IntN(6) {
		case 0, 1:
			ak := valueKinds[r.IntN(len(valueKinds))]
			a := g.gen(ak, d)
			b := g.gen(ak, d)
			if ak == types.Decimal && r.IntN(2) == 0 {
				b = Call(FuncCast, a.Type, b) // same precision sometimes
			}
			return Call([]string{FuncEq, FuncNe, FuncLt, FuncLe, FuncGt, FuncGe}[r.IntN(6)], types.BooleanType, a, b)
		case 2:
			fn := FuncAnd
			if r.IntN(2) == 0 {
				fn = FuncOr
			}
			args := []*Expr{g.gen(types.Boolean, d), g.gen(types.Boolean, d)}
			if r.IntN(4) == 0 {
				args = append(args, g.gen(types.Boolean, d))
			}
			return Call(fn, types.BooleanType, args...)
		case 3:
			return Call(FuncNot, types.BooleanType, g.gen(types.Boolean, d))
		case 4:
			fn := FuncIsNull
			if r.IntN(2) == 0 {
				fn = FuncIsNotNull
			}
			return Call(fn, types.BooleanType, g.gen(valueKinds[r.IntN(len(valueKinds))], d))
		default:
			return g.guardedDivision(d)
		}
	case types.Int, types.BigInt, types.Double:
		t := types.Type{Kind: k}
		switch r.IntN(5) {
		case 0:
			return Call(FuncNeg, t, g.gen(k, d))
		case 1:
			fn := []string{FuncDiv, FuncMod}[r.IntN(2)]
			a, b := g.gen(k, d), g.gen(k, d)
			if k != types.Double && r.IntN(3) > 0 {
				// Guard the divisor as a query would.
				return Call(FuncCase, t, Call(FuncNe, types.BooleanType, b, Lit("0", t)), Call(fn, t, a, b))
			}
			return Call(fn, t, a, b)
		default:
			fn := []string{FuncAdd, FuncSub, FuncMul}[r.IntN(3)]
			return Call(fn, t, g.gen(k, d), g.gen(k, d))
		}
	case types.Decimal:
		switch r.IntN(5) {
		case 0:
			a := g.gen(k, d)
			return Call(FuncNeg, a.Type, a)
		default:
			fn := []string{FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod}[r.IntN(5)]
			a, b := g.gen(k, d), g.gen(k, d)
			t := decimalResult(r, fn, a.Type, b.Type)
			if (fn == FuncDiv || fn == FuncMod) && r.IntN(3) > 0 {
				zero := Lit("0", types.DecimalType(1, 0))
				return Call(FuncCase, t, Call(FuncNe, types.BooleanType, b, zero), Call(fn, t, a, b))
			}
			return Call(fn, t, a, b)
		}
	case types.Timestamp:
		iv := g.leaf(types.Interval)
		switch r.IntN(3) {
		case 0:
			return Call(FuncAdd, types.TimestampType, iv, g.gen(k, d))
		case 1:
			return Call(FuncSub, types.TimestampType, g.gen(k, d), iv)
		}
		return Call(FuncAdd, types.TimestampType, g.gen(k, d), iv)
	case types.Interval:
		switch r.IntN(3) {
		case 0:
			return Call(FuncNeg, types.IntervalType, g.gen(k, d))
		}
		return Call([]string{FuncAdd, FuncSub}[r.IntN(2)], types.IntervalType, g.gen(k, d), g.gen(k, d))
	case types.String:
		return g.cast(k, d)
	}
	return g.leaf(k)
}

// guardedDivision builds b <> 0 AND a / b > c, which must never divide by
// zero (AND evaluates its right side only where the left is not FALSE).
func (g *exprGen) guardedDivision(d int) *Expr {
	k := []types.Kind{types.Int, types.BigInt}[g.r.IntN(2)]
	t := types.Type{Kind: k}
	a, b := g.gen(k, d), g.gen(k, d)
	div := Call([]string{FuncDiv, FuncMod}[g.r.IntN(2)], t, a, b)
	guard := Call(FuncNe, types.BooleanType, b, Lit("0", t))
	cmp := Call(FuncGt, types.BooleanType, div, g.leaf(k))
	if g.r.IntN(2) == 0 {
		return Call(FuncAnd, types.BooleanType, guard, cmp)
	}
	return Call(FuncOr, types.BooleanType, Call(FuncNot, types.BooleanType, guard), cmp)
}

// cast returns a CAST (or TRY_CAST) to a type of kind k from a random
// source type Flink can cast from.
func (g *exprGen) cast(k types.Kind, d int) *Expr {
	r := g.r
	var from []types.Kind
	switch k {
	case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal:
		from = []types.Kind{types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String}
	case types.String:
		from = valueKinds
	case types.Timestamp:
		from = []types.Kind{types.String, types.Timestamp}
	default:
		return g.leaf(k)
	}
	fk := from[r.IntN(len(from))]
	to := g.typeOfKind(k)
	if k == types.Decimal {
		to = randomDecimalType(r)
	}
	if k == types.String && r.IntN(2) == 0 {
		to = types.Type{Kind: types.String, Length: 1 + r.IntN(6)}
	}
	fn := FuncCast
	if fk == types.String && r.IntN(5) > 0 || fk == types.Double && k == types.Decimal && r.IntN(2) == 0 {
		fn = FuncTryCast
	}
	return Call(fn, to, g.gen(fk, d))
}

// caseOf returns a CASE of kind k.
func (g *exprGen) caseOf(k types.Kind, d int) *Expr {
	r := g.r
	t := g.typeOfKind(k)
	val := func() *Expr {
		v := g.gen(k, d)
		if !sameArrow(v.Type, t) {
			v = Call(FuncCast, t, v)
		}
		if r.IntN(10) == 0 {
			v = NullLit(t)
		}
		return v
	}
	var args []*Expr
	for i := 0; i < 1+r.IntN(3); i++ {
		args = append(args, g.gen(types.Boolean, d), val())
	}
	if r.IntN(2) == 0 {
		args = append(args, val())
	}
	return Call(FuncCase, t, args...)
}

// randomSchema returns a schema with columns of every kind (some twice).
func randomSchema(r *rand.Rand) types.Schema {
	var s types.Schema
	add := func(t types.Type) {
		s.Fields = append(s.Fields, types.Field{Name: "c" + strconv.Itoa(len(s.Fields)), Type: t})
	}
	for _, k := range valueKinds {
		switch k {
		case types.Decimal:
			add(randomDecimalType(r))
			add(randomDecimalType(r))
		case types.Timestamp:
			add(types.TimestampType)
		case types.String:
			add(types.StringType)
			add(types.Type{Kind: types.String, Length: 3})
		default:
			add(types.Type{Kind: k})
			if r.IntN(2) == 0 {
				add(types.Type{Kind: k})
			}
		}
	}
	add(types.IntervalType)
	return s
}
