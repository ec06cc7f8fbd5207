package csv

import (
	stdcsv "encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestEncoderAgainstEncodingCSV: what the encoder writes, Go's
// encoding/csv reads back as the same fields, and our decoder as the same
// values.
func TestEncoderAgainstEncodingCSV(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 1))
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.StringType}, {Name: "n", Type: types.BigIntType}, {Name: "b", Type: types.StringType}}}
	alphabet := []rune{'x', ',', '"', '\n', ' ', 'é', '\t', ';'}
	rnd := func() string {
		rs := make([]rune, r.IntN(8))
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(rs)
	}
	for iter := 0; iter < 200; iter++ {
		delim := []byte{',', ';', '\t'}[r.IntN(3)]
		bld := array.NewRecordBuilder(mem, schema.Arrow())
		var want [][]string
		for i := 0; i < 50; i++ {
			a, bb := rnd(), rnd()
			n := r.Int64N(1000) - 500
			bld.Field(0).(*array.StringBuilder).Append(a)
			bld.Field(1).(*array.Int64Builder).Append(n)
			bld.Field(2).(*array.StringBuilder).Append(bb)
			want = append(want, []string{a, itoa(n), bb})
		}
		rec := bld.NewRecordBatch()
		bld.Release()
		enc := NewEncoder(schema, Options{Delimiter: delim})
		out, err := enc.Encode(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		rd := stdcsv.NewReader(strings.NewReader(string(out)))
		rd.Comma = rune(delim)
		got, err := rd.ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv cannot read our output: %v\n%s", err, out)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range want {
			if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") {
				t.Fatalf("record %d = %q, want %q", i, got[i], want[i])
			}
		}
		// Our decoder reads it back too.
		dec := NewDecoder(schema, Options{Delimiter: delim})
		b := format.NewBuilder(schema)
		buf := out
		for len(buf) > 0 {
			adv, recd, _ := format.SplitRecord(buf, true, dec.Framing())
			if _, err := dec.Decode(recd, b); err != nil {
				t.Fatal(err)
			}
			buf = buf[adv:]
		}
		back, err := b.Build(mem)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if back.Column(0).(*array.String).Value(i) != want[i][0] || back.Column(2).(*array.String).Value(i) != want[i][2] {
				t.Fatalf("decoded row %d differs", i)
			}
		}
		back.Release()
		rec.Release()
	}
}

func itoa(n int64) string {
	var b []byte
	if n < 0 {
		return "-" + itoa(-n)
	}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]byte{",": ',', ";": ';', `\t`: '\t', `\u0001`: 1, "|": '|'} {
		if got, err := ParseDelimiter(in); err != nil || got != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", ",,", `"`, "\n", "é"} {
		if _, err := ParseDelimiter(bad); err == nil {
			t.Errorf("ParseDelimiter(%q) accepted", bad)
		}
	}
}
