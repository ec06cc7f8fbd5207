package expr

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// castKernel converts a column.
type castKernel func(ec *evalCtx, v arrow.Array) (arrow.Array, error)

// compileCast compiles CAST and TRY_CAST. Conversions follow Flink's cast
// rules (see the package documentation); TRY_CAST gives NULL where CAST
// fails the job.
func compileCast(try bool, t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	a := args[0]
	name := "CAST"
	if try {
		name = "TRY_CAST"
	}
	text := name + "(" + a.text + " AS " + t.Nullable().Plain().String() + ")"
	p := &prog{t: t, text: text, fallible: a.fallible}
	if a.t.Kind == types.Null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	k, fallible, err := newCastKernel(a.t, t, try, text)
	if err != nil {
		return nil, err
	}
	p.fallible = p.fallible || fallible
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		v, err := a.evalArray(ec, in)
		if err != nil {
			return value{}, err
		}
		defer v.Release()
		out, err := k(ec, v)
		if err != nil {
			return value{}, err
		}
		return value{arr: out}, nil
	}
	return p, nil
}

// newCastKernel picks the conversion from one type to another. fallible
// reports whether the conversion can fail on some input.
func newCastKernel(from, to types.Type, try bool, text string) (castKernel, bool, error) {
	unsupported := fmt.Errorf("cannot cast %s to %s", from, to)
	fail := func(v []byte, reason string) error {
		return fmt.Errorf("expr: %s failed on %s: %s", text, quoteValue(v), reason)
	}
	parse := from.Kind == types.String && !try
	switch to.Kind {
	case types.Boolean:
		switch from.Kind {
		case types.Boolean:
			return identity, false, nil
		case types.Int, types.BigInt, types.Double, types.Decimal, types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToBool(ec, from, v, try, fail)
			}, parse, nil
		}
	case types.Int:
		switch from.Kind {
		case types.Int:
			return identity, false, nil
		case types.Boolean, types.BigInt, types.Double, types.Decimal, types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToInteger[int32](ec, from, to, v, try, fail)
			}, parse, nil
		}
	case types.BigInt:
		switch from.Kind {
		case types.BigInt:
			return identity, false, nil
		case types.Boolean, types.Int, types.Double, types.Decimal, types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToInteger[int64](ec, from, to, v, try, fail)
			}, parse, nil
		}
	case types.Double:
		switch from.Kind {
		case types.Double:
			return identity, false, nil
		case types.Boolean, types.Int, types.BigInt, types.Decimal, types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToDouble(ec, from, v, try, fail)
			}, parse, nil
		}
	case types.Decimal:
		if err := checkDecimalType(to); err != nil {
			return nil, false, err
		}
		switch from.Kind {
		case types.Decimal:
			if err := checkDecimalType(from); err != nil {
				return nil, false, err
			}
			if from.Precision == to.Precision && from.Scale == to.Scale {
				return identity, false, nil
			}
			fallthrough
		case types.Boolean, types.Int, types.BigInt, types.Double, types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToDecimal(ec, from, to, v, try, fail)
			}, (from.Kind == types.String || from.Kind == types.Double) && !try, nil
		}
	case types.String:
		switch from.Kind {
		case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToString(ec, from, to.Length, v)
			}, false, nil
		}
	case types.Timestamp:
		switch from.Kind {
		case types.Timestamp:
			return identity, false, nil
		case types.String:
			return func(ec *evalCtx, v arrow.Array) (arrow.Array, error) {
				return castToTimestamp(ec, v, try, fail)
			}, parse, nil
		}
	case types.Interval:
		if from.Kind == types.Interval {
			return identity, false, nil
		}
	}
	return nil, false, unsupported
}

// identity is the cast between types with the same values.
func identity(_ *evalCtx, v arrow.Array) (arrow.Array, error) {
	v.Retain()
	return v, nil
}

// quoteValue renders an input value for an error message.
func quoteValue(v []byte) string {
	const max = 64
	s := string(v)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}

// nullTracker builds the validity of a cast's output: the input's NULLs
// plus the rows a cast turns into NULL (overflow, TRY_CAST failures).
type nullTracker struct {
	mem    memory.Allocator
	n      int
	src    []byte
	srcOff int
	buf    *memory.Buffer
	bits   []byte
}

func newNullTracker(mem memory.Allocator, v arrow.Array) *nullTracker {
	t := &nullTracker{mem: mem, n: v.Len()}
	t.src, t.srcOff = validity(v)
	return t
}

// valid reports whether input row i is non-NULL.
func (t *nullTracker) valid(i int) bool {
	return t.src == nil || bitutil.BitIsSet(t.src, t.srcOff+i)
}

// setNull makes output row i NULL.
func (t *nullTracker) setNull(i int) {
	if t.buf == nil {
		t.buf, t.bits = newBitmap(t.mem, t.n)
		if t.src == nil {
			bitutil.SetBitsTo(t.bits, 0, int64(t.n), true)
		} else {
			bitutil.CopyBitmap(t.src, t.srcOff, t.n, t.bits, 0)
		}
	}
	bitutil.ClearBit(t.bits, i)
}

// finish returns the output validity bitmap (nil if no NULLs) and the
// NULL count.
func (t *nullTracker) finish() (*memory.Buffer, int) {
	if t.buf == nil {
		if t.src == nil {
			return nil, 0
		}
		t.buf, t.bits = newBitmap(t.mem, t.n)
		bitutil.CopyBitmap(t.src, t.srcOff, t.n, t.bits, 0)
	}
	nulls := nullsIn(t.bits, t.n)
	if nulls == 0 {
		t.buf.Release()
		return nil, 0
	}
	return t.buf, nulls
}

// release frees the tracker's bitmap after a failure.
func (t *nullTracker) release() {
	if t.buf != nil {
		t.buf.Release()
	}
}

// castToBool converts numbers (non-zero is TRUE) and text to BOOLEAN.
func castToBool(ec *evalCtx, from types.Type, v arrow.Array, try bool, fail func([]byte, string) error) (arrow.Array, error) {
	n := v.Len()
	ob, out := newBitmap(ec.mem, n)
	nt := newNullTracker(ec.mem, v)
	switch from.Kind {
	case types.Int:
		setNonZero[int32](v, out)
	case types.BigInt:
		setNonZero[int64](v, out)
	case types.Double:
		setNonZero[float64](v, out)
	case types.Decimal:
		for i, x := range values[decimal128.Num](v) {
			if x.HighBits() != 0 || x.LowBits() != 0 {
				bitutil.SetBit(out, i)
			}
		}
	case types.String:
		offs, data := strData(v)
		for i := 0; i < n; i++ {
			if !nt.valid(i) {
				continue
			}
			raw := data[offs[i]:offs[i+1]]
			b, ok := sqltext.ParseBoolLenient(sqltext.Trim(raw))
			if !ok {
				if try {
					nt.setNull(i)
					continue
				}
				ob.Release()
				nt.release()
				return nil, fail(raw, "not a BOOLEAN (want TRUE/T/YES/Y/1 or FALSE/F/NO/N/0)")
			}
			if b {
				bitutil.SetBit(out, i)
			}
		}
	}
	vb, nulls := nt.finish()
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob), nil
}

// castToInteger converts to INT or BIGINT as Flink does: narrowing wraps
// (Java's (int) cast), DOUBLE truncates toward zero and saturates (NaN is
// 0), DECIMAL truncates toward zero and keeps the low-order bits, text
// parses with an optional dropped fraction.
func castToInteger[D int32 | int64](ec *evalCtx, from, to types.Type, v arrow.Array, try bool, fail func([]byte, string) error) (arrow.Array, error) {
	n := v.Len()
	ob, out := newValues[D](ec.mem, n)
	nt := newNullTracker(ec.mem, v)
	is32 := unsafe.Sizeof(D(0)) == 4
	switch from.Kind {
	case types.Boolean:
		fromBools(v, out)
	case types.Int:
		convertInts[int32](v, out)
	case types.BigInt:
		convertInts[int64](v, out)
	case types.Double:
		src := values[float64](v)[:len(out)]
		if is32 {
			for i := range out {
				out[i] = D(javaDoubleToInt(src[i]))
			}
		} else {
			for i := range out {
				out[i] = D(javaDoubleToLong(src[i]))
			}
		}
	case types.Decimal:
		src := values[decimal128.Num](v)[:len(out)]
		for i := range out {
			u, neg := mag(src[i])
			q := u.divPow10(from.Scale, false).signed(neg)
			out[i] = D(int64(q.LowBits()))
		}
	case types.String:
		offs, data := strData(v)
		bitSize := 64
		if is32 {
			bitSize = 32
		}
		for i := range out {
			out[i] = 0
			if !nt.valid(i) {
				continue
			}
			raw := data[offs[i]:offs[i+1]]
			x, err := sqltext.ParseIntLenient(sqltext.Trim(raw), bitSize)
			if err != nil {
				if try {
					nt.setNull(i)
					continue
				}
				ob.Release()
				nt.release()
				return nil, fail(raw, fmt.Sprintf("not a valid %s (%v)", to.Kind, err))
			}
			out[i] = D(x)
		}
	}
	vb, nulls := nt.finish()
	return makeArray(to.Arrow(), n, nulls, vb, ob), nil
}

// setNonZero sets bit i of out for every non-zero value i of v (numbers
// to BOOLEAN).
func setNonZero[T number](v arrow.Array, out []byte) {
	for i, x := range values[T](v) {
		if x != 0 {
			bitutil.SetBit(out, i)
		}
	}
}

// fromBools sets out[i] to 1 where row i of the BOOLEAN column v is TRUE
// and to 0 elsewhere.
func fromBools[D number](v arrow.Array, out []D) {
	bits, off := boolBits(v)
	for i := range out {
		if bitutil.BitIsSet(bits, off+i) {
			out[i] = 1
		} else {
			out[i] = 0
		}
	}
}

// convertInts converts the integer column v to out with Go's conversion,
// which for these types is Java's: widening is exact, narrowing wraps.
func convertInts[S integer, D number](v arrow.Array, out []D) {
	src := values[S](v)[:len(out)]
	for i := range out {
		out[i] = D(src[i])
	}
}

// intsToDecimal converts the non-NULL integers of src to DECIMAL(p, s) in
// out; a value that does not fit is NULL.
func intsToDecimal[S integer](src []S, out []decimal128.Num, nt *nullTracker, s, p int) {
	for i, x := range src {
		if !nt.valid(i) {
			continue
		}
		if d, ok := rescale(decimal128.FromI64(int64(x)), 0, s, p); ok {
			out[i] = d
		} else {
			out[i] = decimal128.Num{}
			nt.setNull(i)
		}
	}
}

// intsToString adds the integers of src, in decimal, to so (NULL rows
// empty).
func intsToString[S integer](src []S, nt *nullTracker, so *strOut) {
	var buf [24]byte
	for i, x := range src {
		if !nt.valid(i) {
			so.add(nil)
			continue
		}
		so.add(strconv.AppendInt(buf[:0], int64(x), 10))
	}
}

// javaDoubleToInt is Java's (int) d: truncation, saturation, NaN to 0.
func javaDoubleToInt(f float64) int32 {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}

// javaDoubleToLong is Java's (long) d: truncation, saturation, NaN to 0.
func javaDoubleToLong(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= 9.223372036854775807e18:
		return math.MaxInt64
	case f <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(f)
}

// castToDouble converts to DOUBLE.
func castToDouble(ec *evalCtx, from types.Type, v arrow.Array, try bool, fail func([]byte, string) error) (arrow.Array, error) {
	n := v.Len()
	ob, out := newValues[float64](ec.mem, n)
	nt := newNullTracker(ec.mem, v)
	switch from.Kind {
	case types.Boolean:
		fromBools(v, out)
	case types.Int:
		convertInts[int32](v, out)
	case types.BigInt:
		convertInts[int64](v, out)
	case types.Decimal:
		src := values[decimal128.Num](v)[:len(out)]
		for i := range out {
			out[i] = decimalToDouble(src[i], from.Precision, from.Scale)
		}
	case types.String:
		offs, data := strData(v)
		for i := range out {
			out[i] = 0
			if !nt.valid(i) {
				continue
			}
			raw := data[offs[i]:offs[i+1]]
			f, ok := sqltext.ParseDouble(sqltext.Trim(raw))
			if !ok {
				if try {
					nt.setNull(i)
					continue
				}
				ob.Release()
				nt.release()
				return nil, fail(raw, "not a valid DOUBLE")
			}
			out[i] = f
		}
	}
	vb, nulls := nt.finish()
	return makeArray(arrow.PrimitiveTypes.Float64, n, nulls, vb, ob), nil
}

// castToDecimal converts to DECIMAL(p, s), rounding half up; a value that
// does not fit is NULL, except text, where Flink's CAST fails.
func castToDecimal(ec *evalCtx, from, to types.Type, v arrow.Array, try bool, fail func([]byte, string) error) (arrow.Array, error) {
	n := v.Len()
	p, s := to.Precision, to.Scale
	ob, out := newValues[decimal128.Num](ec.mem, n)
	nt := newNullTracker(ec.mem, v)
	put := func(i int, d decimal128.Num, ok bool) {
		if ok {
			out[i] = d
		} else {
			out[i] = decimal128.Num{}
			nt.setNull(i)
		}
	}
	switch from.Kind {
	case types.Boolean:
		bits, off := boolBits(v)
		one, okOne := rescale(decimal128.FromI64(1), 0, s, p)
		for i := range out {
			if !nt.valid(i) {
				out[i] = decimal128.Num{}
			} else if bitutil.BitIsSet(bits, off+i) {
				put(i, one, okOne)
			} else {
				out[i] = decimal128.Num{}
			}
		}
	case types.Int:
		intsToDecimal(values[int32](v)[:len(out)], out, nt, s, p)
	case types.BigInt:
		intsToDecimal(values[int64](v)[:len(out)], out, nt, s, p)
	case types.Decimal:
		src := values[decimal128.Num](v)[:len(out)]
		for i := range out {
			if nt.valid(i) {
				d, ok := rescale(src[i], from.Scale, s, p)
				put(i, d, ok)
			}
		}
	case types.Double:
		src := values[float64](v)[:len(out)]
		var buf [32]byte
		for i := range out {
			out[i] = decimal128.Num{}
			if !nt.valid(i) {
				continue
			}
			f := src[i]
			if math.IsNaN(f) || math.IsInf(f, 0) {
				if try {
					nt.setNull(i)
					continue
				}
				ob.Release()
				nt.release()
				return nil, fail(sqltext.AppendDouble(buf[:0], f), "not a finite number")
			}
			// Java's BigDecimal.valueOf(d): the digits of Double.toString.
			d, ok := sqltext.DecimalFromDouble(f, p, s)
			put(i, d, ok)
		}
	case types.String:
		offs, data := strData(v)
		for i := range out {
			out[i] = decimal128.Num{}
			if !nt.valid(i) {
				continue
			}
			raw := data[offs[i]:offs[i+1]]
			d, err := sqltext.ParseDecimal(sqltext.Trim(raw), p, s)
			if err != nil {
				if try {
					nt.setNull(i)
					continue
				}
				ob.Release()
				nt.release()
				reason := "not a valid number"
				if err == sqltext.ErrRange {
					reason = fmt.Sprintf("does not fit %s", to.Nullable().Plain())
				}
				return nil, fail(raw, reason)
			}
			out[i] = d
		}
	}
	vb, nulls := nt.finish()
	return makeArray(to.Arrow(), n, nulls, vb, ob), nil
}

// strOut builds a STRING column row by row, truncating every value to
// maxRunes characters when maxRunes > 0 (CAST to VARCHAR(n)).
type strOut struct {
	ob       *memory.Buffer
	offs     []int32
	db       *memory.Buffer
	data     []byte
	pos      int
	row      int
	maxRunes int
}

func newStrOut(mem memory.Allocator, n, hint, maxRunes int) *strOut {
	s := &strOut{maxRunes: maxRunes}
	s.ob, s.offs = newValues[int32](mem, n+1)
	s.db = newBuffer(mem, max(hint, 0))
	s.data = s.db.Bytes()
	return s
}

// add appends the next row's value.
func (s *strOut) add(b []byte) {
	if s.maxRunes > 0 && len(b) > s.maxRunes {
		b = truncateRunes(b, s.maxRunes)
	}
	s.offs[s.row] = int32(s.pos)
	s.row++
	if s.pos+len(b) > len(s.data) {
		s.db.Resize(max(2*len(s.data), s.pos+len(b), 64))
		s.data = s.db.Bytes()
	}
	s.pos += copy(s.data[s.pos:], b)
}

// finish wraps the column.
func (s *strOut) finish(vb *memory.Buffer, nulls int) arrow.Array {
	s.offs[s.row] = int32(s.pos)
	s.db.ResizeNoShrink(s.pos)
	return makeArray(arrow.BinaryTypes.String, s.row, nulls, vb, s.ob, s.db)
}

// truncateRunes returns the first n characters of b.
func truncateRunes(b []byte, n int) []byte {
	i, c := 0, 0
	for i < len(b) && c < n {
		if b[i] < utf8.RuneSelf {
			i++
		} else {
			_, size := utf8.DecodeRune(b[i:])
			i += size
		}
		c++
	}
	return b[:i]
}

// castToString formats values as Flink does: integers in decimal, DOUBLE
// as Java's Double.toString, DECIMAL with its scale, BOOLEAN as TRUE or
// FALSE, TIMESTAMP(3) as 'yyyy-MM-dd HH:mm:ss.SSS'; VARCHAR(n) truncates.
func castToString(ec *evalCtx, from types.Type, maxRunes int, v arrow.Array) (arrow.Array, error) {
	n := v.Len()
	nt := newNullTracker(ec.mem, v)
	var buf [64]byte
	if from.Kind == types.String {
		offs, data := strData(v)
		if maxRunes <= 0 {
			v.Retain()
			return v, nil
		}
		fits := true
		for i := 0; i < n && fits; i++ {
			fits = int(offs[i+1]-offs[i]) <= maxRunes
		}
		if fits {
			v.Retain()
			return v, nil
		}
		so := newStrOut(ec.mem, n, int(offs[n]-offs[0]), maxRunes)
		for i := 0; i < n; i++ {
			so.add(data[offs[i]:offs[i+1]])
		}
		vb, nulls := nt.finish()
		return so.finish(vb, nulls), nil
	}
	width := map[types.Kind]int{types.Boolean: 5, types.Int: 11, types.BigInt: 20, types.Double: 24, types.Decimal: 42, types.Timestamp: 23}[from.Kind]
	so := newStrOut(ec.mem, n, n*width, maxRunes)
	switch from.Kind {
	case types.Boolean:
		bits, off := boolBits(v)
		for i := 0; i < n; i++ {
			switch {
			case !nt.valid(i):
				so.add(nil)
			case bitutil.BitIsSet(bits, off+i):
				so.add([]byte("TRUE"))
			default:
				so.add([]byte("FALSE"))
			}
		}
	case types.Int:
		intsToString(values[int32](v), nt, so)
	case types.BigInt:
		intsToString(values[int64](v), nt, so)
	case types.Double:
		for i, x := range values[float64](v) {
			if !nt.valid(i) {
				so.add(nil)
				continue
			}
			so.add(sqltext.AppendDouble(buf[:0], x))
		}
	case types.Decimal:
		for i, x := range values[decimal128.Num](v) {
			if !nt.valid(i) {
				so.add(nil)
				continue
			}
			so.add(sqltext.AppendDecimal(buf[:0], x, from.Scale))
		}
	case types.Timestamp:
		for i, x := range values[int64](v) {
			if !nt.valid(i) {
				so.add(nil)
				continue
			}
			so.add(sqltext.AppendTimestamp(buf[:0], x, ' '))
		}
	}
	for so.row < n { // values() of an empty column
		so.add(nil)
	}
	vb, nulls := nt.finish()
	return so.finish(vb, nulls), nil
}

// castToTimestamp parses 'yyyy-MM-dd[ HH:mm[:ss[.fff]]]' text.
func castToTimestamp(ec *evalCtx, v arrow.Array, try bool, fail func([]byte, string) error) (arrow.Array, error) {
	n := v.Len()
	ob, out := newValues[int64](ec.mem, n)
	nt := newNullTracker(ec.mem, v)
	offs, data := strData(v)
	for i := range out {
		out[i] = 0
		if !nt.valid(i) {
			continue
		}
		raw := data[offs[i]:offs[i+1]]
		ms, ok := sqltext.ParseTimestampLenient(sqltext.Trim(raw))
		if !ok {
			if try {
				nt.setNull(i)
				continue
			}
			ob.Release()
			nt.release()
			return nil, fail(raw, "not a valid TIMESTAMP (want 'yyyy-MM-dd HH:mm:ss[.SSS]')")
		}
		out[i] = ms
	}
	vb, nulls := nt.finish()
	return makeArray(arrow.FixedWidthTypes.Timestamp_ms, n, nulls, vb, ob), nil
}
