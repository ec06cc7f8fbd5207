package format

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

func TestTimestampsAgainstTimePackage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for i := 0; i < 200000; i++ {
		ms := lo + r.Int64N(hi-lo)
		if i%3 == 0 { // near the epoch, where sign handling matters
			ms = r.Int64N(4e11) - 2e11
		}
		tm := time.UnixMilli(ms).UTC()
		want := tm.Format("2006-01-02 15:04:05.000")
		if got := FormatTimestamp(ms); got != want {
			t.Fatalf("FormatTimestamp(%d) = %s, want %s", ms, got, want)
		}
		if got := string(AppendTimestamp(nil, ms, true)); got != tm.Format("2006-01-02T15:04:05.000") {
			t.Fatalf("ISO AppendTimestamp(%d) = %s", ms, got)
		}
		back, ok := ParseTimestamp([]byte(want))
		if !ok || back != ms {
			t.Fatalf("ParseTimestamp(%s) = %d, %v; want %d", want, back, ok, ms)
		}
		// Other accepted spellings: no fraction, 1-9 fraction digits, 'T'.
		digits := r.IntN(10)
		s := tm.Format("2006-01-02 15:04:05")
		frac := fmt.Sprintf("%09d", tm.Nanosecond())[:digits]
		if digits > 0 {
			s += "." + frac
		}
		if r.IntN(2) == 0 {
			s = strings.Replace(s, " ", "T", 1)
		}
		wantMs := tm.Truncate(time.Second).UnixMilli()
		if digits > 0 {
			f, _ := strconv.Atoi((frac + "000")[:3])
			wantMs += int64(f)
		}
		if got, ok := ParseTimestamp([]byte(s)); !ok || got != wantMs {
			t.Fatalf("ParseTimestamp(%s) = %d, %v; want %d", s, got, ok, wantMs)
		}
	}
	for _, bad := range []string{"", "2026-01-01", "2026-13-01 00:00:00", "2026-02-29 00:00:00", "2026-04-31 00:00:00",
		"2026-01-01 24:00:00", "2026-01-01 00:60:00", "2026-01-01 00:00:60", "2026-01-01 00:00:00.", "2026-01-01 00:00:00.1234567890",
		"2026/01/01 00:00:00", "2026-01-01 00:00:0a", "abc", "2026-01-01 00:00:00Z", "2026-01-01  0:00:00"} {
		if _, ok := ParseTimestamp([]byte(bad)); ok {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
	if _, ok := ParseTimestamp([]byte("2024-02-29 12:00:00")); !ok {
		t.Error("leap day rejected")
	}
}

func TestParseInt64AgainstStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := "0123456789+- x"
	for i := 0; i < 300000; i++ {
		var s string
		switch i % 3 {
		case 0:
			s = strconv.FormatInt(int64(r.Uint64()), 10)
		case 1:
			s = strconv.FormatInt(r.Int64N(1000)-500, 10)
		default:
			n := r.IntN(22)
			b := make([]byte, n)
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			s = string(b)
		}
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := ParseInt64([]byte(s))
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("ParseInt64(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
		want32, err := strconv.ParseInt(s, 10, 32)
		got32, ok := ParseInt32([]byte(s))
		if ok != (err == nil) || (ok && int64(got32) != want32) {
			t.Fatalf("ParseInt32(%q) = %d, %v; strconv says %d, %v", s, got32, ok, want32, err)
		}
	}
}

// refDecimal rounds the decimal text s half up to scale digits with
// math/big, returning the unscaled value, or false if it needs more than
// prec digits.
func refDecimal(s string, prec, scale int) (*big.Int, bool) {
	rat, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	rat.Mul(rat, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	neg := rat.Sign() < 0
	rat.Abs(rat)
	q, m := new(big.Int).QuoRem(rat.Num(), rat.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(rat.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return nil, false
	}
	return q, true
}

func TestDecimalsAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		prec := 1 + r.IntN(38)
		scale := r.IntN(prec + 1)
		intDigits := r.IntN(prec - scale + 2)
		fracDigits := r.IntN(scale + 3)
		var sb strings.Builder
		if r.IntN(3) == 0 {
			sb.WriteByte('-')
		}
		for j := 0; j < intDigits; j++ {
			sb.WriteByte(byte('0' + r.IntN(10)))
		}
		if fracDigits > 0 || intDigits == 0 {
			sb.WriteByte('.')
			for j := 0; j < max(fracDigits, 1); j++ {
				sb.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		s := sb.String()
		want, wok := refDecimal(s, prec, scale)
		got, ok := ParseDecimal([]byte(s), int32(prec), int32(scale))
		if ok != wok {
			t.Fatalf("ParseDecimal(%q, %d, %d) ok = %v, reference %v", s, prec, scale, ok, wok)
		}
		if !ok {
			continue
		}
		if got.BigInt().Cmp(want) != 0 {
			t.Fatalf("ParseDecimal(%q, %d, %d) = %s, want %s", s, prec, scale, got.BigInt(), want)
		}
		// Printing gives back the rounded value with exactly scale digits.
		text := string(AppendDecimal(nil, got, int32(scale)))
		back, ok := refDecimal(text, prec, scale)
		if !ok || back.Cmp(want) != 0 {
			t.Fatalf("AppendDecimal(%s, %d) = %q, does not read back", want, scale, text)
		}
		if frac := strings.IndexByte(text, '.'); (scale == 0) != (frac < 0) || (frac >= 0 && len(text)-frac-1 != scale) {
			t.Fatalf("AppendDecimal(%s, scale %d) = %q: wrong number of fraction digits", want, scale, text)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "abc", "1,5", "--1"} {
		if _, ok := ParseDecimal([]byte(bad), 10, 2); ok {
			t.Errorf("ParseDecimal(%q) accepted", bad)
		}
	}
	if v, ok := ParseDecimal([]byte("1.5e2"), 10, 2); !ok || v != decimal128.FromI64(15000) {
		t.Errorf("ParseDecimal(1.5e2) = %v, %v", v, ok)
	}
}

func TestAppendDoubleReadsBackAndFollowsJava(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 200000; i++ {
		var v float64
		switch i % 3 {
		case 0:
			v = math.Float64frombits(r.Uint64())
		case 1:
			v = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-15))
		default:
			v = float64(r.Int64N(1e9)-5e8) / 100
		}
		s := string(AppendDouble(nil, v))
		back, ok := ParseFloat64([]byte(s))
		if math.IsNaN(v) {
			if s != "NaN" || !ok || !math.IsNaN(back) {
				t.Fatalf("NaN printed as %q", s)
			}
			continue
		}
		if !ok || math.Float64bits(back) != math.Float64bits(v) {
			t.Fatalf("AppendDouble(%v) = %q reads back as %v", v, s, back)
		}
		// Java's rule: plain notation with a fraction in [1e-3, 1e7),
		// computerized scientific notation outside it.
		a := math.Abs(v)
		sci := strings.Contains(s, "E")
		if !math.IsInf(v, 0) && v != 0 && sci != (a < 1e-3 || a >= 1e7) {
			t.Fatalf("AppendDouble(%v) = %q: wrong notation", v, s)
		}
		if !math.IsInf(v, 0) && !strings.Contains(s, ".") {
			t.Fatalf("AppendDouble(%v) = %q lacks a fraction", v, s)
		}
	}
	// Java's own spellings of a few values.
	for v, want := range map[float64]string{1: "1.0", 0.001: "0.001", 1e7: "1.0E7", 1e10: "1.0E10", 1.5e-5: "1.5E-5",
		-2.5: "-2.5", 1234567.5: "1234567.5", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 0: "0.0"} {
		if got := string(AppendDouble(nil, v)); got != want {
			t.Errorf("AppendDouble(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSplitRecord(t *testing.T) {
	in := "a,b\r\n\"x\ny\",\"q\"\"\"\nlast"
	var got []string
	buf := []byte(in)
	lines := 0
	for len(buf) > 0 {
		adv, rec, nl := SplitRecord(buf, true, Framing{Quote: '"', Delim: ','})
		if adv == 0 {
			t.Fatal("no progress")
		}
		got = append(got, string(rec))
		lines += nl
		buf = buf[adv:]
	}
	want := []string{"a,b", "\"x\ny\",\"q\"\"\"", "last"}
	if fmt.Sprint(got) != fmt.Sprint(want) || lines != 3 {
		t.Fatalf("records %q (%d newlines), want %q (3)", got, lines, want)
	}
	if adv, _, _ := SplitRecord([]byte("\"open\nfield"), false, Framing{Quote: '"', Delim: ','}); adv != 0 {
		t.Fatal("a record inside an open quote was cut")
	}
	if adv, rec, _ := SplitRecord([]byte("\"a\"\"\nb\"\n"), false, Framing{}); adv != 5 || string(rec) != "\"a\"\"" {
		t.Fatal("quote 0 must cut at every newline")
	}
}

// TestBuilderAgainstReference appends random rows with NULLs, rolls some
// back, and compares the built arrays with the rows kept.
func TestBuilderAgainstReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Fields: []types.Field{
		{Name: "b", Type: types.BooleanType}, {Name: "i", Type: types.IntType}, {Name: "l", Type: types.BigIntType},
		{Name: "d", Type: types.DoubleType}, {Name: "m", Type: types.DecimalType(20, 3)}, {Name: "s", Type: types.StringType},
		{Name: "t", Type: types.TimestampType},
	}}
	r := rand.New(rand.NewPCG(9, 10))
	b := NewBuilder(schema)
	for round := 0; round < 20; round++ {
		var want [][]string
		rows := r.IntN(300)
		for i := 0; i < rows; i++ {
			row := make([]string, len(schema.Fields))
			for c, col := range b.Cols {
				if r.IntN(5) == 0 {
					col.AppendNull()
					row[c] = "null"
					continue
				}
				switch col.Type.Kind {
				case types.Boolean:
					v := r.IntN(2) == 0
					col.AppendBool(v)
					row[c] = fmt.Sprint(v)
				case types.Int:
					v := int32(r.Uint32())
					col.AppendInt32(v)
					row[c] = fmt.Sprint(v)
				case types.BigInt, types.Timestamp:
					v := int64(r.Uint64())
					col.AppendInt64(v)
					row[c] = fmt.Sprint(v)
				case types.Double:
					v := r.NormFloat64()
					col.AppendFloat64(v)
					row[c] = fmt.Sprint(v)
				case types.Decimal:
					v := r.Int64N(1e12) - 5e11
					col.AppendDecimal(decimal128.FromI64(v))
					row[c] = fmt.Sprint(v)
				case types.String:
					v := strings.Repeat("é", r.IntN(4)) + fmt.Sprint(r.IntN(100))
					col.AppendString([]byte(v))
					row[c] = v
				}
			}
			if r.IntN(4) == 0 {
				b.Rollback()
				continue
			}
			b.Commit()
			want = append(want, row)
		}
		// A half-appended row is dropped by Build.
		b.Cols[0].AppendBool(true)
		rec, err := b.Build(mem)
		if err != nil {
			t.Fatal(err)
		}
		if int(rec.NumRows()) != len(want) {
			t.Fatalf("%d rows, want %d", rec.NumRows(), len(want))
		}
		for i, row := range want {
			for c := range row {
				a := rec.Column(c)
				got := "null"
				if a.IsValid(i) {
					switch a := a.(type) {
					case *array.Boolean:
						got = fmt.Sprint(a.Value(i))
					case *array.Int32:
						got = fmt.Sprint(a.Value(i))
					case *array.Int64:
						got = fmt.Sprint(a.Value(i))
					case *array.Timestamp:
						got = fmt.Sprint(int64(a.Value(i)))
					case *array.Float64:
						got = fmt.Sprint(a.Value(i))
					case *array.Decimal128:
						got = a.Value(i).BigInt().String()
					case *array.String:
						got = a.Value(i)
					}
				}
				if got != row[c] {
					t.Fatalf("round %d row %d col %d = %s, want %s", round, i, c, got, row[c])
				}
			}
		}
		rec.Release()
	}
}

func TestFieldErrorText(t *testing.T) {
	c := &Column{Name: "amount", Type: types.Type{Kind: types.BigInt, NotNull: true}}
	err := AppendText(c, []byte("abc"))
	if err == nil || err.Error() != "column 'amount': cannot parse 'abc' as BIGINT" {
		t.Fatalf("error %v", err)
	}
	c = &Column{Name: "s", Type: types.StringType}
	if err := AppendText(c, []byte{'a', 0xff}); err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Fatalf("invalid UTF-8 accepted: %v", err)
	}
}

// TestQuoteStateAgreesWithSequentialSplitting checks, on random text full
// of quotes, delimiters and newlines (valid CSV or not), that a reader
// starting anywhere finds the same record starts as one reading from the
// start, whatever the chunking.
func TestQuoteStateAgreesWithSequentialSplitting(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	fr := Framing{Quote: '"', Delim: ','}
	alphabet := []byte("a,\"\n\r")
	for iter := 0; iter < 3000; iter++ {
		b := make([]byte, r.IntN(80))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		// Record starts by sequential splitting.
		starts := map[int]bool{0: true}
		var order []int
		for pos := 0; pos < len(b); {
			adv, _, nl := SplitRecord(b[pos:], true, fr)
			if adv == 0 {
				t.Fatalf("no progress on %q at %d", b, pos)
			}
			if want := bytes.Count(b[pos:pos+adv], []byte{'\n'}); nl != want {
				t.Fatalf("%q at %d: %d newlines reported, %d consumed", b, pos, nl, want)
			}
			pos += adv
			starts[pos] = true
			order = append(order, pos)
		}
		// From every offset x > 0: the first start >= x.
		for x := 1; x <= len(b); x++ {
			want := -1
			for _, s := range append([]int{0}, order...) {
				if s >= x && (want < 0 || s < want) && s < len(b)+1 {
					want = s
				}
			}
			st := NewQuoteState(fr)
			// Skip the prefix [0, x-1) in random chunks.
			pre := b[:x-1]
			for len(pre) > 0 {
				n := 1 + r.IntN(len(pre))
				st.Skip(pre[:n])
				pre = pre[n:]
			}
			got := -1
			off := x - 1
			rest := b[x-1:]
			for len(rest) > 0 {
				n := 1 + r.IntN(len(rest))
				if e := st.NextRecord(rest[:n]); e >= 0 {
					got = off + e
					break
				}
				off += n
				rest = rest[n:]
			}
			if got < 0 {
				got = len(b) // no record starts after x: the reader has nothing
			}
			if want < 0 || want > len(b) {
				want = len(b)
			}
			if got != want {
				t.Fatalf("text %q, offset %d: first record start %d, sequential splitting says %d", b, x, got, want)
			}
		}
	}
}
