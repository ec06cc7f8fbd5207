package expr

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/types"
)

// compileCase compiles a searched CASE: cond1, val1, cond2, val2, ...
// [, else]. Row by row the first TRUE condition wins (NULL is not TRUE);
// without ELSE an undecided row is NULL. Each condition is evaluated only
// on the rows no earlier condition decided, and each value only on the rows
// that pick it when it could fail there (as Flink's generated code does) or
// is expensive (a regular expression, ...); cheap results are computed over
// the whole batch, which costs less than gathering the rows.
func compileCase(t types.Type, args []*prog) (*prog, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("want at least one WHEN ... THEN pair, got %d argument(s)", len(args))
	}
	pairs := len(args) / 2
	hasElse := len(args)%2 == 1
	if t.Kind != types.Null {
		if err := checkValueType(t); err != nil {
			return nil, err
		}
	}
	var sb strings.Builder
	sb.WriteString("CASE")
	for i := 0; i < pairs; i++ {
		c, v := args[2*i], args[2*i+1]
		if c.t.Kind != types.Boolean && c.t.Kind != types.Null {
			return nil, fmt.Errorf("condition %d is %s, want BOOLEAN", i+1, c.t)
		}
		fmt.Fprintf(&sb, " WHEN %s THEN %s", c.text, v.text)
	}
	results := make([]*prog, 0, pairs+1)
	for i := 0; i < pairs; i++ {
		results = append(results, args[2*i+1])
	}
	if hasElse {
		results = append(results, args[len(args)-1])
		fmt.Fprintf(&sb, " ELSE %s", args[len(args)-1].text)
	}
	sb.WriteString(" END")
	for i, v := range results {
		if v.t.Kind == types.Null {
			continue
		}
		if !sameArrow(v.t, t) {
			return nil, fmt.Errorf("result %d is %s, want %s (the CASE type)", i+1, v.t, t)
		}
	}
	p := &prog{t: t, text: sb.String(), fallible: anyFallible(args...)}
	lazy := false
	for _, a := range args {
		lazy = lazy || a.lazy()
	}
	if lazy {
		p.run = func(ec *evalCtx, in *batch) (value, error) {
			return runCase(ec, in, t, args, pairs, hasElse)
		}
	} else {
		p.run = func(ec *evalCtx, in *batch) (value, error) {
			return runCaseEager(ec, in, t, args, pairs, hasElse)
		}
	}
	return p, nil
}

// sameArrow reports whether values of a and b share one Arrow type.
func sameArrow(a, b types.Type) bool {
	if a.Kind != b.Kind {
		return false
	}
	return a.Kind != types.Decimal || (a.Precision == b.Precision && a.Scale == b.Scale)
}

// trueBits returns an offset-0 bitmap of the rows where v is TRUE.
func trueBits(v value, n int) []byte {
	bm := make([]byte, bitutil.BytesForBits(int64(n)))
	bv := newBoolVec(v, n)
	for i := range bm {
		x, m := bv.at(i)
		bm[i] = x & m
	}
	maskTail(bm, n)
	return bm
}

// runCaseEager evaluates a CASE none of whose arguments can fail or is
// expensive: every
// condition and every picked result is computed over the whole batch, and
// the rows are assigned to results with bitmaps.
func runCaseEager(ec *evalCtx, in *batch, t types.Type, args []*prog, pairs int, hasElse bool) (value, error) {
	n := in.n
	und := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.SetBitsTo(und, 0, int64(n), true)
	left := n
	src := make([]int32, n)
	for i := range src {
		src[i] = -1
	}
	var vals []value
	defer func() {
		for _, v := range vals {
			v.release()
		}
	}()
	// take assigns the undecided rows set in tb to result res.
	take := func(res *prog, tb []byte) (value, bool, error) {
		k := int32(len(vals))
		hits := 0
		for j := range und {
			h := und[j] & tb[j]
			if h == 0 {
				continue
			}
			und[j] &^= h
			for h != 0 {
				src[j*8+bits.TrailingZeros8(h)] = k
				h &= h - 1
				hits++
			}
		}
		if hits == 0 {
			return value{}, false, nil
		}
		left -= hits
		if hits == n {
			v, err := res.eval(ec, in)
			return v, true, err
		}
		v, err := res.eval(ec, in)
		if err != nil {
			return value{}, false, err
		}
		vals = append(vals, v)
		return value{}, false, nil
	}
	for b := 0; b < pairs && left > 0; b++ {
		cond := args[2*b]
		var tb []byte
		if cond.konst != nil {
			if cond.konst.null || !cond.konst.b {
				continue
			}
			tb = und
		} else {
			v, err := cond.eval(ec, in)
			if err != nil {
				return value{}, err
			}
			tb = trueBits(v, n)
			v.release()
		}
		v, done, err := take(args[2*b+1], tb)
		if err != nil || done {
			return v, err
		}
	}
	if hasElse && left > 0 {
		rest := append([]byte(nil), und...)
		v, done, err := take(args[len(args)-1], rest)
		if err != nil || done {
			return v, err
		}
	}
	if len(vals) == 0 {
		return value{sc: &scalar{null: true}}, nil
	}
	return value{arr: interleave(ec.mem, t, n, vals, sources{src: src})}, nil
}

// runCase evaluates a CASE over in, each condition on the rows no earlier
// one took and each result on the rows that pick it when it is lazy.
func runCase(ec *evalCtx, in *batch, t types.Type, args []*prog, pairs int, hasElse bool) (value, error) {
	n := in.n
	rem := Selection{All: true}
	var src, pos []int32
	var vals []value
	defer func() {
		for _, v := range vals {
			v.release()
		}
	}()
	// pick assigns rows to result k, evaluating it on just those rows when
	// it could fail elsewhere.
	pick := func(res *prog, hits Selection) (value, bool, error) {
		if hits.All && len(vals) == 0 {
			// One result decides every row: return it as is.
			v, err := res.eval(ec, in)
			return v, true, err
		}
		if src == nil {
			src, pos = make([]int32, n), make([]int32, n)
			for i := range src {
				src[i] = -1
			}
		}
		k := int32(len(vals))
		if hits.All || !res.lazy() {
			v, err := res.eval(ec, in)
			if err != nil {
				return value{}, false, err
			}
			vals = append(vals, v)
			if hits.All {
				for i := range src {
					src[i], pos[i] = k, int32(i)
				}
			} else {
				for _, i := range hits.Indices {
					src[i], pos[i] = k, i
				}
			}
			return value{}, false, nil
		}
		sub, err := takeBatch(ec.mem, in, res, hits.Indices)
		if err != nil {
			return value{}, false, err
		}
		v, err := res.eval(ec, &sub.batch)
		sub.release()
		if err != nil {
			return value{}, false, err
		}
		vals = append(vals, v)
		for j, i := range hits.Indices {
			src[i], pos[i] = k, int32(j)
		}
		return value{}, false, nil
	}
	for b := 0; b < pairs && rem.Len(n) > 0; b++ {
		cond, res := args[2*b], args[2*b+1]
		hits, rest, err := evalCond(ec, in, cond, rem)
		if err != nil {
			return value{}, err
		}
		rem = rest
		if hits.Len(n) == 0 {
			continue
		}
		v, done, err := pick(res, hits)
		if err != nil {
			return value{}, err
		}
		if done {
			return v, nil
		}
	}
	if hasElse && rem.Len(n) > 0 {
		v, done, err := pick(args[len(args)-1], rem)
		if err != nil {
			return value{}, err
		}
		if done {
			return v, nil
		}
	}
	if len(vals) == 0 {
		return value{sc: &scalar{null: true}}, nil
	}
	return value{arr: interleave(ec.mem, t, n, vals, sources{src: src, pos: pos})}, nil
}

// evalCond evaluates a CASE condition on the rows rem and splits them into
// the rows where it is TRUE (hits) and the others (rest).
func evalCond(ec *evalCtx, in *batch, cond *prog, rem Selection) (hits, rest Selection, err error) {
	n := in.n
	if cond.konst != nil {
		if !cond.konst.null && cond.konst.b {
			return rem, Selection{Indices: []int32{}}, nil
		}
		return Selection{Indices: []int32{}}, rem, nil
	}
	if rem.All || !cond.lazy() {
		v, err := cond.eval(ec, in)
		if err != nil {
			return Selection{}, Selection{}, err
		}
		tb := trueBits(v, n)
		v.release()
		if rem.All {
			all, idx := selectionOf(tb, n)
			if all {
				return Selection{All: true}, Selection{Indices: []int32{}}, nil
			}
			return Selection{Indices: idx}, Selection{Indices: complement(idx, n)}, nil
		}
		h, r := make([]int32, 0, len(rem.Indices)), make([]int32, 0, len(rem.Indices))
		for _, i := range rem.Indices {
			if bitutil.BitIsSet(tb, int(i)) {
				h = append(h, i)
			} else {
				r = append(r, i)
			}
		}
		return Selection{Indices: h}, Selection{Indices: r}, nil
	}
	sub, err := takeBatch(ec.mem, in, cond, rem.Indices)
	if err != nil {
		return Selection{}, Selection{}, err
	}
	v, err := cond.eval(ec, &sub.batch)
	sub.release()
	if err != nil {
		return Selection{}, Selection{}, err
	}
	tb := trueBits(v, len(rem.Indices))
	v.release()
	h, r := make([]int32, 0, len(rem.Indices)), make([]int32, 0, len(rem.Indices))
	for j, i := range rem.Indices {
		if bitutil.BitIsSet(tb, j) {
			h = append(h, i)
		} else {
			r = append(r, i)
		}
	}
	return Selection{Indices: h}, Selection{Indices: r}, nil
}

// complement returns the rows of [0, n) not in the ascending list idx.
func complement(idx []int32, n int) []int32 {
	out := make([]int32, 0, n-len(idx))
	k := 0
	for i := int32(0); int(i) < n; i++ {
		if k < len(idx) && idx[k] == i {
			k++
			continue
		}
		out = append(out, i)
	}
	return out
}
