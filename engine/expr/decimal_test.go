package expr

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
)

// TestDecimalArithmeticRows drives the DECIMAL kernel row function with
// many random operands and result types and compares it with the exact
// big.Rat reference, including the divisions whose Flink result differs
// from a single rounding (the quotient is first rounded to 38 significant
// digits): enough of those must be hit for the test to count.
func TestDecimalArithmeticRows(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	doubleRounded := 0
	var s bigScratch
	for it := 0; it < 60000; it++ {
		lt, rt := randomDecimalType(r), randomDecimalType(r)
		if it%2 == 0 {
			lt = types.DecimalType(38, r.IntN(39))
		}
		if it%3 == 0 {
			p := 1 + r.IntN(19)
			rt = types.DecimalType(p, r.IntN(p+1))
		}
		fns := []string{FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod}
		fn := fns[r.IntN(len(fns))]
		if it%2 == 0 {
			fn = FuncDiv
		}
		res := types.DecimalType(38, r.IntN(39))
		if r.IntN(3) == 0 {
			res = decimalResult(r, fn, lt, rt)
		}
		k, err := newDecArith(arithFuncs[fn], lt, rt, res)
		if err != nil {
			t.Fatal(err)
		}
		ua, ub := randomUnscaled(r, lt.Precision), randomUnscaled(r, rt.Precision)
		if ub.Sign() == 0 && (fn == FuncDiv || fn == FuncMod) {
			ub.SetInt64(7)
		}
		a, b := decimal128.FromBigInt(ua), decimal128.FromBigInt(ub)
		ra := rv{r: new(big.Rat).SetFrac(ua, pow10Big(lt.Scale))}
		rb := rv{r: new(big.Rat).SetFrac(ub, pow10Big(rt.Scale))}
		want, werr := refArith(fn, lt, rt, res, ra, rb)
		got, ok, gerr := k.row(a, b, &s)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s %s %s -> %s: error %v, reference %v", ra.r.FloatString(lt.Scale), fn, rb.r.FloatString(rt.Scale), res, gerr, werr)
		}
		if werr != nil {
			continue
		}
		g := refNull
		if ok {
			g = rv{r: new(big.Rat).SetFrac(got.BigInt(), pow10Big(res.Scale))}
		}
		if !sameRV(res, g, want) {
			t.Fatalf("%s(%s %s, %s %s) -> %s: got %s, want %s", fn, ra.r.FloatString(lt.Scale), lt, rb.r.FloatString(rt.Scale), rt, res,
				showRV(res, g), showRV(res, want))
		}
		if fn == FuncDiv && !want.null {
			single := fitDecimal(new(big.Rat).Quo(ra.r, rb.r), res.Precision, res.Scale)
			if !sameRV(res, single, want) {
				doubleRounded++
			}
		}
	}
	if doubleRounded < 3 {
		t.Fatalf("only %d divisions exercised the 38-digit double rounding", doubleRounded)
	}
	t.Logf("%d divisions where Flink's double rounding matters", doubleRounded)
}
