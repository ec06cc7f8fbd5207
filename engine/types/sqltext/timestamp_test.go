package sqltext

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimestampsAgainstTimePackage checks AppendTimestamp, ParseTimestamp
// and ParseTimestampLenient against the time package on random instants.
func TestTimestampsAgainstTimePackage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for i := 0; i < 60000; i++ {
		ms := lo + r.Int64N(hi-lo)
		if i%3 == 0 { // near the epoch, where sign handling matters
			ms = r.Int64N(4e11) - 2e11
		}
		tm := time.UnixMilli(ms).UTC()
		want := tm.Format("2006-01-02 15:04:05.000")
		if got := string(AppendTimestamp(nil, ms, ' ')); got != want {
			t.Fatalf("AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
		if got := string(AppendTimestamp([]byte("x"), ms, 'T')); got != "x"+tm.Format("2006-01-02T15:04:05.000") {
			t.Fatalf("ISO AppendTimestamp(%d) = %s", ms, got)
		}
		for _, parse := range []func([]byte) (int64, bool){ParseTimestamp, ParseTimestampLenient} {
			if back, ok := parse([]byte(want)); !ok || back != ms {
				t.Fatalf("parsing %s = %d, %v; want %d", want, back, ok, ms)
			}
		}
		// Other spellings of the exact form: no fraction, 1-9 fraction
		// digits, 'T'.
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
		// The lenient spellings, against time.Parse.
		s, layout, exact := lenientSpelling(r, tm)
		ref, err := time.Parse(layout, s)
		if err != nil {
			t.Fatalf("reference cannot parse %q as %q: %v", s, layout, err)
		}
		if got, ok := ParseTimestampLenient([]byte(s)); !ok || got != ref.Truncate(time.Millisecond).UnixMilli() {
			t.Fatalf("ParseTimestampLenient(%s) = %d, %v; want %d", s, got, ok, ref.UnixMilli())
		}
		if _, ok := ParseTimestamp([]byte(s)); ok != exact {
			t.Fatalf("ParseTimestamp(%s) ok = %v, want %v", s, ok, exact)
		}
	}
	for _, bad := range []string{"", "2026-01-01", "2026-13-01 00:00:00", "2026-02-29 00:00:00", "2026-04-31 00:00:00",
		"2026-01-01 24:00:00", "2026-01-01 00:60:00", "2026-01-01 00:00:60", "2026-01-01 00:00:00.", "2026-01-01 00:00:00.1234567890",
		"2026/01/01 00:00:00", "2026-01-01 00:00:0a", "abc", "2026-01-01 00:00:00Z", "2026-01-01  0:00:00", "2026-1-01 00:00:00",
		"2026-01-01 00:00", "2026-01-00 00:00:00", "02026-01-01 00:00:00", " 2026-01-01 00:00:00"} {
		if _, ok := ParseTimestamp([]byte(bad)); ok {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "2026", "2026-01", "2026-1-1 ", "2026-1-1 1", "2026-1-1 1:", "2026-1-1 1:2:", "2026-1-1 1:2:3.",
		"2026-1-1 1:2:3.1234567890", "2026-02-29", "2026-1-1 24:0", "226-1-1", "2026-001-01", "2026-1-1Z", "2026-1-1 1:2 ", "+2026-1-1"} {
		if _, ok := ParseTimestampLenient([]byte(bad)); ok {
			t.Errorf("ParseTimestampLenient(%q) accepted", bad)
		}
	}
	if _, ok := ParseTimestamp([]byte("2024-02-29 12:00:00")); !ok {
		t.Error("leap day rejected")
	}
}

// lenientSpelling writes tm's date, and maybe its time, with random field
// widths and parts left out, and returns the text and the time.Parse
// layout that reads it, and whether it is also in the exact form.
func lenientSpelling(r *rand.Rand, tm time.Time) (string, string, bool) {
	exact := true
	num := func(v int) (string, string) { // value, and its layout width
		if v < 10 && r.IntN(2) == 0 {
			exact = false
			return strconv.Itoa(v), "1"
		}
		return fmt.Sprintf("%02d", v), "2"
	}
	var s, l strings.Builder
	s.WriteString(fmt.Sprintf("%04d-", tm.Year()))
	l.WriteString("2006-")
	v, w := num(int(tm.Month()))
	s.WriteString(v + "-")
	l.WriteString(map[string]string{"1": "1-", "2": "01-"}[w])
	v, w = num(tm.Day())
	s.WriteString(v)
	l.WriteString(map[string]string{"1": "2", "2": "02"}[w])
	if r.IntN(4) == 0 {
		return s.String(), l.String(), false
	}
	sep := " T"[r.IntN(2)]
	s.WriteByte(sep)
	l.WriteByte(sep)
	v, w = num(tm.Hour())
	s.WriteString(v + ":")
	l.WriteString(map[string]string{"1": "15:", "2": "15:"}[w])
	v, w = num(tm.Minute())
	s.WriteString(v)
	l.WriteString(map[string]string{"1": "4", "2": "04"}[w])
	if r.IntN(4) == 0 {
		return s.String(), l.String(), false
	}
	v, w = num(tm.Second())
	s.WriteString(":" + v)
	l.WriteString(map[string]string{"1": ":5", "2": ":05"}[w])
	if digits := r.IntN(10); digits > 0 {
		s.WriteString("." + fmt.Sprintf("%09d", tm.Nanosecond())[:digits])
		l.WriteString("." + strings.Repeat("9", digits))
	}
	return s.String(), l.String(), exact
}

// TestAppendTimestampWholeRange checks years outside 0..9999, all the way
// to the ends of int64 milliseconds, against the time package.
func TestAppendTimestampWholeRange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		ms := int64(r.Uint64())
		switch i {
		case 0:
			ms = math.MinInt64
		case 1:
			ms = math.MaxInt64
		}
		want := time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
		if got := string(AppendTimestamp(nil, ms, ' ')); got != want {
			t.Fatalf("AppendTimestamp(%d) = %s, want %s", ms, got, want)
		}
	}
}
