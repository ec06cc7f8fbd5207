package format

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// TestAppendTextAgainstReference reads random field text of every type,
// well formed or not, and compares the column built (or the error) with a
// reference written from strconv, time and math/big: the field rules of
// the text formats, which are stricter than CAST's.
func TestAppendTextAgainstReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []types.Type{types.BigIntType, types.IntType, types.DoubleType, types.BooleanType, types.TimestampType,
		types.DecimalType(10, 2), types.DecimalType(38, 5)}
	for _, typ := range kinds {
		b := NewBuilder(types.Schema{Fields: []types.Field{{Name: "c", Type: typ}}})
		c := b.Cols[0]
		var want []string // the reference's value per row, as text
		for i := 0; i < 20000; i++ {
			s := randomField(r, typ)
			ref, ok := refField(typ, s)
			err := AppendText(c, []byte(s))
			if (err == nil) != ok {
				t.Fatalf("%s: AppendText(%q) error %v, reference ok %v", typ, s, err, ok)
			}
			if err != nil {
				if want := fmt.Sprintf("column 'c': cannot parse '%s' as %s", s, typ.Nullable().Plain()); err.Error() != want {
					t.Fatalf("error %q, want %q", err, want)
				}
				continue
			}
			b.Commit()
			want = append(want, ref)
		}
		rec, err := b.Build(mem)
		if err != nil {
			t.Fatal(err)
		}
		if int(rec.NumRows()) != len(want) {
			t.Fatalf("%s: %d rows, want %d", typ, rec.NumRows(), len(want))
		}
		for i, w := range want {
			var got string
			switch a := rec.Column(0).(type) {
			case *array.Int64:
				got = strconv.FormatInt(a.Value(i), 10)
			case *array.Int32:
				got = strconv.FormatInt(int64(a.Value(i)), 10)
			case *array.Float64:
				got = strconv.FormatUint(math.Float64bits(a.Value(i)), 16)
			case *array.Boolean:
				got = strconv.FormatBool(a.Value(i))
			case *array.Timestamp:
				got = strconv.FormatInt(int64(a.Value(i)), 10)
			case *array.Decimal128:
				got = a.Value(i).BigInt().String()
			}
			if got != w {
				t.Fatalf("%s row %d = %s, want %s", typ, i, got, w)
			}
		}
		rec.Release()
	}
}

// randomField returns text for a field of type typ: mostly well formed,
// sometimes with blanks around it or in a form only CAST accepts, and
// sometimes garbage.
func randomField(r *rand.Rand, typ types.Type) string {
	var s string
	switch typ.Kind {
	case types.BigInt, types.Int:
		s = []string{strconv.FormatInt(int64(r.Uint64())>>r.IntN(64), 10), strconv.Itoa(r.IntN(100)) + ".7", "+" + strconv.Itoa(r.IntN(9)),
			"2147483648", "-2147483648", "9223372036854775808", "-9223372036854775808", "000000000000000000000042", "-", "1e3"}[r.IntN(10)]
	case types.Double:
		s = []string{strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64), "NaN", "nan", "-Infinity",
			"+Inf", "-inf", "INFINITY", "1.5d", "1.5F", "0x1p3", "1_0", ".5", "5.", "1e400", "abc", "1.5dd", "+NaN", "-nan"}[r.IntN(18)]
	case types.Boolean:
		s = []string{"true", "FALSE", "True", "t", "yes", "1", "0", "no", "fals"}[r.IntN(9)]
	case types.Timestamp:
		tm := time.UnixMilli(r.Int64N(4e12) - 1e12).UTC()
		s = []string{tm.Format("2006-01-02 15:04:05.000"), tm.Format("2006-01-02T15:04:05"), tm.Format("2006-01-02 15:04:05.999999999"),
			tm.Format("2006-01-02 15:04"), tm.Format("2006-1-2 15:04:05"), tm.Format("2006-01-02"), "2023-02-29 00:00:00",
			tm.Format("2006-01-02 15:04:05Z")}[r.IntN(8)]
	case types.Decimal:
		s = []string{strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(12))), 'f', r.IntN(8), 64), "1.5e2", "-0.005",
			"12345678.995", "1e40", ".", "1,5", "NaN", strings.Repeat("9", 39)}[r.IntN(9)]
	}
	switch r.IntN(8) {
	case 0:
		s = " \t"[:1+r.IntN(2)] + s + " "
	case 1:
		s = "\n" + s // not a blank a field loses
	}
	return s
}

// javaNumber is Java's decimal number syntax; javaDouble adds the float
// and double suffixes.
var (
	javaNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	javaDouble = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?$`)
)

// refField is the reference reading of a field: the value as the test
// prints it, and whether the field is valid.
func refField(typ types.Type, s string) (string, bool) {
	s = strings.Trim(s, " \t")
	switch typ.Kind {
	case types.BigInt, types.Int:
		bits := 64
		if typ.Kind == types.Int {
			bits = 32
		}
		v, err := strconv.ParseInt(s, 10, bits)
		return strconv.FormatInt(v, 10), err == nil
	case types.Double:
		// Java's syntax, or the non-finite values as Go spells them.
		body := strings.TrimLeft(s, "+-")
		signs := len(s) - len(body)
		var v float64
		switch {
		case javaDouble.MatchString(s):
			var err error
			v, err = strconv.ParseFloat(strings.TrimRight(s, "fFdD"), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				panic(err)
			}
		case signs <= 1 && body == "NaN", signs == 0 && strings.EqualFold(body, "nan"):
			v = math.NaN()
		case signs <= 1 && (strings.EqualFold(body, "inf") || strings.EqualFold(body, "infinity")):
			v = math.Inf(1)
			if s[0] == '-' {
				v = math.Inf(-1)
			}
		default:
			return "", false
		}
		return strconv.FormatUint(math.Float64bits(v), 16), true
	case types.Boolean:
		v, err := strconv.ParseBool(strings.ToLower(s))
		return strconv.FormatBool(v), err == nil && len(s) > 1
	case types.Timestamp:
		if len(s) < 19 || strings.HasSuffix(s, "Z") {
			return "", false
		}
		tm, err := time.Parse("2006-01-02 15:04:05.999999999", strings.Replace(s, "T", " ", 1))
		return strconv.FormatInt(tm.Truncate(time.Millisecond).UnixMilli(), 10), err == nil
	case types.Decimal:
		if !javaNumber.MatchString(s) {
			return "", false
		}
		x, _ := new(big.Rat).SetString(s)
		x.Mul(x, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Scale)), nil)))
		neg := x.Sign() < 0
		x.Abs(x)
		q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
		if new(big.Int).Lsh(m, 1).Cmp(x.Denom()) >= 0 {
			q.Add(q, big.NewInt(1)) // half up
		}
		if q.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Precision)), nil)) >= 0 {
			return "", false
		}
		if neg {
			q.Neg(q)
		}
		return q.String(), true
	}
	return "", false
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

// TestNewValuesChecksArrowTypes: a column whose Arrow type does not carry
// the SQL type is an error, not a wrong reading.
func TestNewValuesChecksArrowTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	i32 := array.NewInt32Builder(mem)
	i32.Append(7)
	ints := i32.NewArray()
	defer ints.Release()
	i32.Release()
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Second})
	ts.Append(7)
	secs := ts.NewArray()
	defer secs.Release()
	ts.Release()
	for _, c := range []struct {
		a  arrow.Array
		t  types.Type
		ok bool
	}{
		{ints, types.IntType, true}, {ints, types.BigIntType, false}, {ints, types.DoubleType, false},
		{ints, types.DecimalType(10, 2), false}, {ints, types.StringType, false}, {ints, types.BooleanType, false},
		{ints, types.TimestampType, false}, {secs, types.TimestampType, false}, {secs, types.BigIntType, false},
	} {
		v, err := NewValues("x", c.a, c.t)
		if (err == nil) != c.ok {
			t.Fatalf("NewValues(%s, %s) error %v, want ok %v", c.a.DataType(), c.t, err, c.ok)
		}
		if c.ok {
			if got := string(v.AppendText(nil, 0, false)); got != "7" {
				t.Fatalf("AppendText = %q", got)
			}
		}
	}
}
