package sqltext

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func pow10Big(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// refRound rounds x half up (away from zero on a tie) to scale digits with
// math/big and returns the unscaled value, or false if it needs more than
// prec digits.
func refRound(x *big.Rat, prec, scale int) (*big.Int, bool) {
	r := new(big.Rat).Mul(x, new(big.Rat).SetInt(pow10Big(scale)))
	neg := r.Sign() < 0
	r.Abs(r)
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if new(big.Int).Abs(q).Cmp(pow10Big(prec)) >= 0 {
		return nil, false
	}
	return q, true
}

// TestParseDecimalAgainstBigRat parses random text, most of it in
// BigDecimal syntax (with exponents, signs, leading zeros, more digits
// than the type holds), and compares with math/big.
func TestParseDecimalAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50000; i++ {
		prec := 1 + r.IntN(38)
		scale := r.IntN(prec + 1)
		s := randomNumberText(r, prec-scale+2, scale+3)
		got, err := ParseDecimal([]byte(s), prec, scale)
		if !javaNumber.MatchString(s) {
			if err != ErrSyntax {
				t.Fatalf("ParseDecimal(%q) = %v, %v; want a syntax error", s, got.BigInt(), err)
			}
			continue
		}
		var want *big.Int
		var wok bool
		mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
		m, _ := new(big.Rat).SetString(mant)
		if e, _ := strconv.Atoi(exp); e > 1000 || e < -1000 {
			// Beyond any DECIMAL: zero, or too large.
			want, wok = new(big.Int), e < 0 || m.Sign() == 0
		} else {
			x, ok := new(big.Rat).SetString(s)
			if !ok {
				t.Fatalf("big.Rat cannot read %q", s)
			}
			want, wok = refRound(x, prec, scale)
		}
		if (err == nil) != wok || (err != nil && err != ErrRange) {
			t.Fatalf("ParseDecimal(%q, %d, %d) error %v, reference fits: %v", s, prec, scale, err, wok)
		}
		if wok && got.BigInt().Cmp(want) != 0 {
			t.Fatalf("ParseDecimal(%q, %d, %d) = %s, want %s", s, prec, scale, got.BigInt(), want)
		}
	}
	for _, bad := range []string{"", "-", "+", ".", "1.2.3", "abc", "1,5", "--1", "1e", "e5", "1e+", " 1", "1 ", "0x10", "1_0", "NaN", "1/2"} {
		if _, err := ParseDecimal([]byte(bad), 10, 2); err != ErrSyntax {
			t.Errorf("ParseDecimal(%q) error %v, want ErrSyntax", bad, err)
		}
	}
	for s, want := range map[string]int64{"1.5e2": 15000, "1.005": 101, "-1.005": -101, "1.004": 100, "0.0049": 0, "-0.005": -1,
		"1e-999999999999": 0, "0e999999999999": 0, "12345678.994": 1234567899} {
		if v, err := ParseDecimal([]byte(s), 10, 2); err != nil || v != decimal128.FromI64(want) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %d", s, v.BigInt(), err, want)
		}
	}
	for _, s := range []string{"1e999999999999", "123456789", "99999999.995", strings.Repeat("9", 60)} {
		if _, err := ParseDecimal([]byte(s), 10, 2); err != ErrRange {
			t.Errorf("ParseDecimal(%q) error %v, want ErrRange", s, err)
		}
	}
}

// TestAppendDecimalAgainstBigRat prints random unscaled values of every
// size with every scale and compares with big.Rat's FloatString (which is
// BigDecimal.toPlainString), and checks encoding/json reads each as a
// number of the same value (the JSON writer writes them bare).
func TestAppendDecimalAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for i := 0; i < 40000; i++ {
		var d decimal128.Num
		switch i % 3 {
		case 0: // anything decimal128 holds
			d = decimal128.New(int64(r.Uint64()), r.Uint64())
		case 1: // up to 38 digits
			var sb strings.Builder
			for j := 1 + r.IntN(38); j > 0; j-- {
				sb.WriteByte(byte('0' + r.IntN(10)))
			}
			u, _ := new(big.Int).SetString(sb.String(), 10)
			d = decimal128.FromBigInt(u)
		default:
			d = decimal128.FromI64(r.Int64N(2001) - 1000)
		}
		if r.IntN(2) == 0 {
			d = d.Negate()
		}
		scale := r.IntN(40)
		want := new(big.Rat).SetFrac(d.BigInt(), pow10Big(scale)).FloatString(scale)
		got := string(AppendDecimal([]byte("x"), d, scale))[1:]
		if got != want {
			t.Fatalf("AppendDecimal(%s, %d) = %q, want %q", d.BigInt(), scale, got, want)
		}
		var n json.Number
		if err := json.Unmarshal([]byte(got), &n); err != nil || n.String() != got {
			t.Fatalf("AppendDecimal(%s, %d) = %q is not a JSON number: %v", d.BigInt(), scale, got, err)
		}
		// Printing and parsing are inverses when the value fits.
		if digits := len(d.BigInt().String()) - boolLen(d.Sign() < 0); digits <= 38 && scale <= 38 {
			p := max(digits, scale, 1)
			if back, err := ParseDecimal([]byte(got), p, scale); err != nil || back != d {
				t.Fatalf("ParseDecimal(AppendDecimal(%s, %d) = %q, %d) = %s, %v", d.BigInt(), scale, got, p, back.BigInt(), err)
			}
		}
	}
	if got := string(AppendDecimal(nil, decimal128.FromI64(7), -2)); got != "700" {
		t.Errorf("negative scale: %q", got)
	}
}

func boolLen(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDecimalFromDoubleAgainstBigRat converts random doubles and compares
// with Java's rule written with math/big: the value of Double.toString's
// text, rounded half up.
func TestDecimalFromDoubleAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for i := 0; i < 40000; i++ {
		var f float64
		switch i % 3 {
		case 0:
			f = math.Float64frombits(r.Uint64())
		case 1:
			f = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(50)-20))
		default:
			f = float64(r.Int64N(2e6)-1e6) / []float64{1, 8, 100, 1000}[r.IntN(4)]
		}
		prec := 1 + r.IntN(38)
		scale := r.IntN(prec + 1)
		got, ok := DecimalFromDouble(f, prec, scale)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			if ok {
				t.Fatalf("DecimalFromDouble(%v) accepted", f)
			}
			continue
		}
		x, _ := new(big.Rat).SetString(refJavaDouble(f))
		want, wok := refRound(x, prec, scale)
		if ok != wok || (ok && got.BigInt().Cmp(want) != 0) {
			t.Fatalf("DecimalFromDouble(%v, %d, %d) = %s, %v; want %v, %v", f, prec, scale, got.BigInt(), ok, want, wok)
		}
	}
	// BigDecimal.valueOf(0.1) is exactly 0.1, not the binary value.
	if d, ok := DecimalFromDouble(0.15, 3, 1); !ok || d != decimal128.FromI64(2) {
		t.Errorf("DecimalFromDouble(0.15, 3, 1) = %s, %v; want 0.2", d.BigInt(), ok)
	}
	if _, ok := DecimalFromDouble(float64(strconv.IntSize), 1, 0); ok {
		t.Error("64 fits DECIMAL(1, 0)")
	}
}
