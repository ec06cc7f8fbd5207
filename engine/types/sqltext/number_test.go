package sqltext

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseIntAgainstStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := "0123456789+- x."
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatInt(int64(r.Uint64()), 10)
		case 1:
			s = strconv.FormatInt(r.Int64N(1000)-500, 10)
		case 2: // leading zeros, signs, values around the limits
			s = strings.Repeat("0", r.IntN(25)) + strconv.FormatUint(uint64(math.MaxInt64)-50+r.Uint64N(100), 10)[r.IntN(12):]
			s = []string{"", "+", "-"}[r.IntN(3)] + s
		default:
			b := make([]byte, r.IntN(22))
			for j := range b {
				b[j] = alphabet[r.IntN(len(alphabet))]
			}
			s = string(b)
		}
		for _, bits := range []int{32, 64} {
			want, werr := strconv.ParseInt(s, 10, bits)
			got, err := ParseInt([]byte(s), bits)
			if (err == nil) != (werr == nil) || got != want&^int64(boolInt(werr != nil)*-1) {
				t.Fatalf("ParseInt(%q, %d) = %d, %v; strconv says %d, %v", s, bits, got, err, want, werr)
			}
			// The reason: empty, a lone sign, a stray byte, or too large.
			var wantErr error
			switch body := strings.TrimLeft(s, "+-"); {
			case werr == nil:
			case s == "":
				wantErr = ErrEmpty
			case len(s) == 1 && body == "":
				wantErr = ErrSignOnly
			case strings.Trim(body, "0123456789") != "" || len(s)-len(body) > 1:
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
					t.Fatalf("ParseInt(%q) = %v, want a syntax or range error", s, err)
				}
				wantErr = err
			default:
				wantErr = ErrRange
			}
			if err != wantErr {
				t.Fatalf("ParseInt(%q, %d) error %v, want %v", s, bits, err, wantErr)
			}
			// CAST's reading: a fraction of digits after the integer is
			// dropped, and the integer may then have no digits at all.
			want, wok := refLenientInt(s, bits)
			got, err = ParseIntLenient([]byte(s), bits)
			if (err == nil) != wok || got != want {
				t.Fatalf("ParseIntLenient(%q, %d) = %d, %v; want %d, %v", s, bits, got, err, want, wok)
			}
		}
	}
}

// refLenientInt is Flink's CAST of text to an integer, from strconv.
func refLenientInt(s string, bits int) (int64, bool) {
	intPart, frac, point := strings.Cut(s, ".")
	if strings.Trim(frac, "0123456789") != "" || (point && strings.Contains(frac, ".")) {
		return 0, false
	}
	if point && strings.TrimLeft(intPart, "+-") == "" && len(intPart) <= 1 {
		return 0, true // ".5", "-.5", "."
	}
	v, err := strconv.ParseInt(intPart, 10, bits)
	if err != nil {
		return 0, false
	}
	return v, true
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// javaNumber is the reference grammar of BigDecimal text and of
// Double.parseDouble's decimal text (before the f/d suffix).
var javaNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// randomNumberText returns text that is a number in Java's syntax most of
// the time, and near misses otherwise.
func randomNumberText(r *rand.Rand, maxInt, maxFrac int) string {
	var sb strings.Builder
	if r.IntN(8) == 0 {
		alphabet := "0123456789.eE+-x "
		for j := r.IntN(12); j > 0; j-- {
			sb.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	switch r.IntN(6) {
	case 0:
		sb.WriteByte('-')
	case 1:
		sb.WriteByte('+')
	}
	if r.IntN(5) == 0 {
		sb.WriteString(strings.Repeat("0", r.IntN(5)))
	}
	intDigits := r.IntN(maxInt + 1)
	for j := 0; j < intDigits; j++ {
		sb.WriteByte(byte('0' + r.IntN(10)))
	}
	if fracDigits := r.IntN(maxFrac + 1); fracDigits > 0 || intDigits == 0 || r.IntN(4) == 0 {
		sb.WriteByte('.')
		for j := 0; j < fracDigits; j++ {
			sb.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(5) == 0 {
		sb.WriteString([]string{"e", "E", "e+", "e-", "E-"}[r.IntN(5)])
		sb.WriteString(strconv.Itoa(r.IntN(45)))
	}
	return sb.String()
}

// TestParseDoubleAgainstStrconv checks ParseDouble against the reference
// grammar, and the value against strconv.
func TestParseDoubleAgainstStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 50000; i++ {
		s := randomNumberText(r, 25, 25)
		if r.IntN(6) == 0 {
			s += "fFdDx"[r.IntN(5):][:1]
		}
		body := s
		if n := len(s); n > 1 && strings.ContainsAny(s[n-1:], "fFdD") {
			body = s[:n-1]
		}
		wantOK := javaNumber.MatchString(body)
		var want float64
		if wantOK {
			var err error
			want, err = strconv.ParseFloat(body, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				t.Fatalf("strconv cannot read %q: %v", body, err)
			}
		}
		got, ok := ParseDouble([]byte(s))
		if ok != wantOK || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("ParseDouble(%q) = %v, %v; want %v, %v", s, got, ok, want, wantOK)
		}
	}
	for s, want := range map[string]float64{"NaN": math.NaN(), "+NaN": math.NaN(), "-NaN": math.NaN(), "Infinity": math.Inf(1),
		"+Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "1e400": math.Inf(1), "-1e400": math.Inf(-1), "1e-400": 0, "1.5f": 1.5,
		"2D": 2, "1.": 1, ".5": 0.5, "1e99999999999": math.Inf(1)} {
		got, ok := ParseDouble([]byte(s))
		if !ok || (got != want && !(math.IsNaN(want) && math.IsNaN(got))) {
			t.Errorf("ParseDouble(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, bad := range []string{"", "+", "nan", "inf", "Inf", "infinity", "NaNd", "Infinityf", "0x1p3", "1_0", "1e", "e5", ".", "f",
		"1.5ff", " 1", "1 ", "--1", "1e+-2"} {
		if v, ok := ParseDouble([]byte(bad)); ok {
			t.Errorf("ParseDouble(%q) = %v, accepted", bad, v)
		}
	}
}

// refJavaDouble is Java's Double.toString, written from Go's %E and %f
// forms.
func refJavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1.5E+07, 1E-05
	if m, _, _ := strings.Cut(s, "E"); len(strings.Trim(m, "-")) == 1 {
		s = javaOneOrTwoDigits(f)
	}
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// javaOneOrTwoDigits is Java's choice (JDK 19 and later) for f whose
// shortest decimal has one digit: of all decimals with one or two
// significant digits that read back as f, the closest to f, found by
// trying them all. It returns it in strconv's 'E' form.
func javaOneOrTwoDigits(f float64) string {
	exact := new(big.Rat).SetFloat64(math.Abs(f))
	_, e, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	e10, _ := strconv.Atoi(e)
	var best string
	var bestK int
	var bestDist *big.Rat
	for k := e10 - 2; k <= e10; k++ {
		// Only the m next to f / 10^k can be closest.
		scale := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-k)), nil))
		if k >= 0 {
			scale.SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil))
		}
		q := new(big.Rat).Quo(exact, scale)
		near := int(new(big.Int).Quo(q.Num(), q.Denom()).Int64())
		for m := max(near-1, 1); m <= min(near+2, 99); m++ {
			c := strconv.Itoa(m) + "E" + strconv.Itoa(k)
			if v, _ := strconv.ParseFloat(c, 64); v != math.Abs(f) {
				continue
			}
			cv, _ := new(big.Rat).SetString(c)
			d := new(big.Rat).Sub(cv, exact)
			d.Abs(d)
			if bestDist == nil || d.Cmp(bestDist) < 0 {
				best, bestK, bestDist = c, k, d
			}
		}
	}
	// best is "mEk" = m * 10^k; write it as d[.d]E(exponent).
	m, k := best[:strings.IndexByte(best, 'E')], bestK
	if len(m) == 2 {
		k++
		if m[1] == '0' {
			m = m[:1]
		} else {
			m = m[:1] + "." + m[1:]
		}
	}
	s := m + "E" + strconv.Itoa(k)
	if f < 0 {
		s = "-" + s
	}
	return s
}

// TestAppendDoubleFollowsJava checks AppendDouble against a reference
// Double.toString, that it reads back exactly, and that every finite
// value is a JSON number encoding/json reads back as the same double (the
// JSON writer writes them bare).
func TestAppendDoubleFollowsJava(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 60000; i++ {
		var v float64
		switch i % 12 {
		case 0, 1, 2:
			v = math.Float64frombits(r.Uint64())
		case 3, 4, 5:
			v = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-15))
		case 6, 7, 8:
			v = float64(r.Int64N(1e9)-5e8) / 100
		case 9: // around the notation boundaries
			v = []float64{1e-3, 1e7, 9999999.999999998, 0.0009999999999999998, 1e-3 + 1e-19}[r.IntN(5)] * float64(1-2*r.IntN(2))
		case 10: // one significant digit
			v, _ = strconv.ParseFloat(strconv.Itoa(1+r.IntN(9))+"E"+strconv.Itoa(r.IntN(617)-308), 64)
		default: // small subnormals, where one digit may not be Java's choice
			v = float64(1+r.IntN(5000)) * math.SmallestNonzeroFloat64
		}
		s := string(AppendDouble([]byte("x"), v))[1:]
		if want := refJavaDouble(v); s != want {
			t.Fatalf("AppendDouble(%v) = %q, want %q", v, s, want)
		}
		back, ok := ParseDouble([]byte(s))
		if !ok || (math.Float64bits(back) != math.Float64bits(v) && !math.IsNaN(v)) || math.IsNaN(back) != math.IsNaN(v) {
			t.Fatalf("AppendDouble(%v) = %q reads back as %v, %v", v, s, back, ok)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		var js float64
		if err := json.Unmarshal([]byte(s), &js); err != nil || math.Float64bits(js) != math.Float64bits(v) && v != 0 {
			t.Fatalf("AppendDouble(%v) = %q: encoding/json reads %v, %v", v, s, js, err)
		}
	}
	for v, want := range map[float64]string{1: "1.0", 0.001: "0.001", 1e7: "1.0E7", 1e10: "1.0E10", 1.5e-5: "1.5E-5",
		-2.5: "-2.5", 1234567.5: "1234567.5", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 0: "0.0",
		math.Copysign(0, -1): "-0.0", 100: "100.0", 9999999: "9999999.0", math.MaxFloat64: "1.7976931348623157E308",
		math.SmallestNonzeroFloat64: "4.9E-324", 2 * math.SmallestNonzeroFloat64: "9.9E-324", 2e23: "2.0E23"} {
		if got := string(AppendDouble(nil, v)); got != want {
			t.Errorf("AppendDouble(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestParseBool(t *testing.T) {
	// Every case spelling of every word, and words that are not booleans.
	words := map[string]int{"true": 1, "false": 0, "t": 1, "y": 1, "yes": 1, "1": 1, "f": 0, "n": 0, "no": 0, "0": 0,
		"tru": -1, "yess": -1, "": -1, "2": -1, "on": -1, "off": -1, "truee": -1, "false ": -1}
	for w, want := range words {
		for mask := 0; mask < 1<<len(w); mask++ {
			b := []byte(w)
			for i := range b {
				if mask&(1<<i) != 0 {
					b[i] = bytes.ToUpper(b[i : i+1])[0]
				}
			}
			v, ok := ParseBoolLenient(b)
			if ok != (want >= 0) || (ok && v != (want == 1)) {
				t.Fatalf("ParseBoolLenient(%q) = %v, %v; want %d", b, v, ok, want)
			}
			strict := w == "true" || w == "false"
			v, ok = ParseBool(b)
			if ok != strict || (ok && v != (want == 1)) {
				t.Fatalf("ParseBool(%q) = %v, %v", b, v, ok)
			}
		}
	}
}

func TestTrimIsJavaTrim(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	alphabet := []byte(" \t\r\n\x00\x1fa\x7f\xc3\xa9 ")
	for i := 0; i < 100000; i++ {
		b := make([]byte, r.IntN(8))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		want := bytes.TrimFunc(b, func(c rune) bool { return c <= ' ' })
		if got := Trim(b); !bytes.Equal(got, want) {
			t.Fatalf("Trim(%q) = %q, want %q", b, got, want)
		}
	}
}
