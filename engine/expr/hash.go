package expr

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cespare/xxhash/v2"

	"github.com/eddy-streaming/eddy/engine/types"
)

// FuncHashCode is HASH_CODE(x) INT: a deterministic hash of a value of any
// type, the same on every machine, in every run and at every parallelism
// (it never depends on a seed or on memory addresses). The planner's split
// of DISTINCT aggregates groups rows by MOD(HASH_CODE(x), buckets), so
// changing the hash moves rows between buckets and breaks restored state.
//
// It is strict: HASH_CODE(NULL) is NULL (and so is MOD of it: the rows
// whose argument is NULL share one NULL bucket). Equal values hash alike:
// INT, BIGINT, TIMESTAMP and INTERVAL values hash as the same 64-bit
// integer (so INT 5 and BIGINT 5 agree), BOOLEAN as 0 or 1, DOUBLE by its
// IEEE bits with -0.0 taken as 0.0 and every NaN as one NaN, DECIMAL by its
// unscaled 128-bit value, STRING by xxHash64 of its UTF-8 bytes. Integers
// go through the SplitMix64 finalizer, so that consecutive keys spread
// over all buckets; the result is the upper 32 bits, as a signed INT (it
// may be negative, like Java's hashCode).
const FuncHashCode = "hash_code"

// hash.go sorts after builtins.go, whose init makes the map: the go tool
// runs a package's init functions in file-name order.
func init() { builtins[FuncHashCode] = compileHashCode }

// mix64 is SplitMix64's finalizer: a bijection of 64-bit integers whose
// every output bit depends on every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashTop is the INT a 64-bit hash gives: its upper half.
func hashTop(h uint64) int32 { return int32(h >> 32) }

// HashInt64 is HASH_CODE of an INT, BIGINT, TIMESTAMP (milliseconds) or
// INTERVAL (milliseconds) value.
func HashInt64(v int64) int32 { return hashTop(mix64(uint64(v))) }

// HashBool is HASH_CODE of a BOOLEAN.
func HashBool(v bool) int32 {
	if v {
		return HashInt64(1)
	}
	return HashInt64(0)
}

// HashFloat64 is HASH_CODE of a DOUBLE: -0.0 hashes as 0.0 and every NaN
// alike.
func HashFloat64(v float64) int32 {
	switch {
	case v == 0:
		v = 0
	case math.IsNaN(v):
		v = math.NaN()
	}
	return hashTop(mix64(math.Float64bits(v)))
}

// HashDecimal is HASH_CODE of a DECIMAL's unscaled value.
func HashDecimal(v decimal128.Num) int32 {
	return hashTop(mix64(v.LowBits() ^ mix64(uint64(v.HighBits()))))
}

// HashString is HASH_CODE of a STRING's bytes.
func HashString(s []byte) int32 { return hashTop(xxhash.Sum64(s)) }

// compileHashCode compiles HASH_CODE(x).
func compileHashCode(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("HASH_CODE", args, 1, 1); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Int {
		return nil, fmt.Errorf("HASH_CODE returns an INT, not %s", e.Type)
	}
	x := args[0]
	switch x.t.Kind {
	case types.Null, types.Boolean, types.Int, types.BigInt, types.Timestamp, types.Interval, types.Double, types.Decimal, types.String:
	default:
		return nil, fmt.Errorf("HASH_CODE of %s is not supported", x.t)
	}
	p := &prog{t: e.Type, text: callText("HASH_CODE", args), fallible: x.fallible}
	kind := x.t.Kind
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		arr := vals[0].arr
		if arr == nil {
			// A constant argument: hash it once.
			col := broadcast(ec.mem, vals[0].sc, x.t, n)
			defer col.Release()
			arr = col
		}
		vb, nulls := copyValidity(ec.mem, arr)
		ob, out := newValues[int32](ec.mem, n)
		if allNull(arr) {
			return value{arr: makeArray(arrow.PrimitiveTypes.Int32, n, nulls, vb, ob)}, nil
		}
		switch kind {
		case types.Boolean:
			bits, off := boolBits(arr)
			t, f := HashBool(true), HashBool(false)
			for i := range out {
				if bits[(off+i)>>3]&(1<<uint((off+i)&7)) != 0 {
					out[i] = t
				} else {
					out[i] = f
				}
			}
		case types.Int:
			for i, v := range values[int32](arr) {
				out[i] = HashInt64(int64(v))
			}
		case types.BigInt, types.Timestamp, types.Interval:
			for i, v := range values[int64](arr) {
				out[i] = HashInt64(v)
			}
		case types.Double:
			for i, v := range values[float64](arr) {
				out[i] = HashFloat64(v)
			}
		case types.Decimal:
			for i, v := range values[decimal128.Num](arr) {
				out[i] = HashDecimal(v)
			}
		case types.String:
			offs, data := strData(arr)
			for i := range out {
				out[i] = HashString(data[offs[i]:offs[i+1]])
			}
		}
		return value{arr: makeArray(arrow.PrimitiveTypes.Int32, n, nulls, vb, ob)}, nil
	})
	return p, nil
}
