package keygroup

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cespare/xxhash/v2"
)

const (
	hashSeed  uint64 = 0x9e3779b97f4a7c15
	nullValue uint64 = 0x6e756c6c6e756c6c // hashed in place of a NULL
)

// fmix64 is MurmurHash3's 64-bit finalizer: a bijective avalanche mix.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func combine(h, v uint64) uint64 { return fmix64(h*0x100000001b3 ^ v) }

// HashColumns sets out[i] to the hash of row i of the key columns cols, for
// every row. All columns and out must have the same length. Equal key values
// of equal types hash equally in every process; NULL is a value like any
// other. Supported column types are those of engine/types: boolean, int32,
// int64, float64, decimal128, string and timestamp.
func HashColumns(cols []arrow.Array, out []uint64) error {
	for i := range out {
		out[i] = hashSeed
	}
	for _, c := range cols {
		if c.Len() != len(out) {
			return fmt.Errorf("keygroup: key column has %d rows, want %d", c.Len(), len(out))
		}
		if err := hashColumn(c, out); err != nil {
			return err
		}
	}
	return nil
}

func hashColumn(c arrow.Array, out []uint64) error {
	switch a := c.(type) {
	case *array.Int64:
		hashValues(c, out, a.Int64Values(), func(v int64) uint64 { return uint64(v) })
	case *array.Int32:
		hashValues(c, out, a.Int32Values(), func(v int32) uint64 { return uint64(int64(v)) })
	case *array.Timestamp:
		hashValues(c, out, a.TimestampValues(), func(v arrow.Timestamp) uint64 { return uint64(v) })
	case *array.Float64:
		hashValues(c, out, a.Float64Values(), floatBits)
	case *array.Decimal128:
		hashValues(c, out, a.Values(), func(v decimal128.Num) uint64 { return fmix64(v.LowBits()) ^ uint64(v.HighBits()) })
	case *array.Boolean:
		for i := range out {
			v := nullValue
			if a.IsValid(i) {
				v = 1
				if a.Value(i) {
					v = 2
				}
			}
			out[i] = combine(out[i], v)
		}
	case *array.String:
		for i := range out {
			v := nullValue
			if a.IsValid(i) {
				v = xxhash.Sum64String(a.Value(i))
			}
			out[i] = combine(out[i], v)
		}
	default:
		return fmt.Errorf("keygroup: cannot hash a %s key column", c.DataType())
	}
	return nil
}

// hashValues mixes the fixed-width values vs of column c into out. The bytes
// under a NULL slot are undefined, so NULL rows mix nullValue instead.
func hashValues[T any](c arrow.Array, out []uint64, vs []T, bits func(T) uint64) {
	if c.NullN() == 0 {
		for i, v := range vs {
			out[i] = combine(out[i], bits(v))
		}
		return
	}
	for i, v := range vs {
		b := nullValue
		if c.IsValid(i) {
			b = bits(v)
		}
		out[i] = combine(out[i], b)
	}
}

func floatBits(v float64) uint64 {
	switch {
	case v == 0:
		return 0 // +0 and -0 are equal
	case math.IsNaN(v):
		return 0x7ff8000000000001
	}
	return math.Float64bits(v)
}
