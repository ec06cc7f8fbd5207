package datagen

import (
	"math"
	"math/bits"
)

// gamma is the golden-ratio increment of splitmix64.
const gamma = 0x9E3779B97F4A7C15

// mix64 is the splitmix64 finalizer: a bijection of uint64 whose outputs
// for consecutive inputs look independent.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// rowState returns the random state of row i of the stream keyed by key.
func rowState(key, i uint64) uint64 { return mix64(key + i*gamma) }

// word returns the j-th random word of a row with state st.
func word(st uint64, j uint64) uint64 { return mix64(st + (j+1)*gamma) }

// below returns a number in [0, n) from the random word u (Lemire's
// multiply-shift; the bias is below 2^-32 for n < 2^32).
func below(u, n uint64) uint64 {
	hi, _ := bits.Mul64(u, n)
	return hi
}

// aliasTable samples from a discrete distribution in O(1) with Walker's
// alias method (Vose's construction).
type aliasTable struct {
	n     uint64
	prob  []uint64 // keep index i when the fraction is below prob[i]
	alias []int32
}

// newAlias builds the table for weights (all >= 0, some > 0).
func newAlias(weights []float64) *aliasTable {
	n := len(weights)
	t := &aliasTable{n: uint64(n), prob: make([]uint64, n), alias: make([]int32, n)}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	scaled := make([]float64, n)
	small := make([]int32, 0, n)
	large := make([]int32, 0, n)
	for i, w := range weights {
		scaled[i] = w * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s := small[len(small)-1]
		small = small[:len(small)-1]
		l := large[len(large)-1]
		t.prob[s] = toThreshold(scaled[s])
		t.alias[s] = l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// Whatever is left has probability 1 (up to rounding).
	for _, i := range large {
		t.prob[i], t.alias[i] = math.MaxUint64, i
	}
	for _, i := range small {
		t.prob[i], t.alias[i] = math.MaxUint64, i
	}
	return t
}

func toThreshold(p float64) uint64 {
	if p >= 1 {
		return math.MaxUint64
	}
	if p <= 0 {
		return 0
	}
	v := p * 0x1p64
	if v >= 0x1p64 {
		return math.MaxUint64
	}
	return uint64(v)
}

// sample returns an index distributed by the table's weights: the high
// half of u*n picks a column, the low half decides between it and its alias.
func (t *aliasTable) sample(u uint64) int32 {
	i, frac := bits.Mul64(u, t.n)
	if frac < t.prob[i] {
		return int32(i)
	}
	return t.alias[i]
}

// zipfWeights returns 1/k^s for k = 1..n.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
	}
	return w
}
