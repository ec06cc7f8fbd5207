package nexmark

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

// eventState returns the random state of the event with id e: every random
// choice of an event is a word derived from it, so an event's fields depend
// only on the seed (key) and its id.
func eventState(key uint64, e int64) uint64 { return mix64(key + uint64(e)*gamma) }

// word returns the j-th random word of an event with state st.
func word(st uint64, j uint64) uint64 { return mix64(st + (j+1)*gamma) }

// below returns a number in [0, n) from the random word u (Lemire's
// multiply-shift; the bias is below 2^-32 for n < 2^32).
func below(u uint64, n int64) int64 {
	hi, _ := bits.Mul64(u, uint64(n))
	return int64(hi)
}

// unit returns a float64 uniform in [0, 1) from the random word u.
func unit(u uint64) float64 { return float64(u>>11) * 0x1p-53 }

// ln10x6 is 6·ln(10): 10^(6U) = e^(6·ln(10)·U).
var ln10x6 = 6 * math.Ln10

// price returns a log-uniform price in cents from 100 ($1) to 100,000,000
// ($1M): round(100 · 10^(6U)), U uniform in [0, 1), as upstream's
// PriceGenerator.
func price(u uint64) int64 {
	return int64(math.Floor(math.Exp(unit(u)*ln10x6)*100 + 0.5))
}
