package keygroup

import "fmt"

// Range is a half-open range of key groups [Start, End).
type Range struct {
	Start, End int
}

// Len returns the number of key groups in r.
func (r Range) Len() int { return r.End - r.Start }

// Contains reports whether key group kg is in r.
func (r Range) Contains(kg int) bool { return kg >= r.Start && kg < r.End }

// String renders r as "[start, end)".
func (r Range) String() string { return fmt.Sprintf("[%d, %d)", r.Start, r.End) }

// Of returns the key group of a key hash, for max parallelism maxP.
func Of(hash uint64, maxP int) int { return int(hash % uint64(maxP)) }

// Subtask returns the index of the subtask, of parallelism p, that owns key
// group kg under max parallelism maxP.
func Subtask(kg, maxP, p int) int { return kg * p / maxP }

// RangeOf returns the key groups owned by subtask i of parallelism p under
// max parallelism maxP. It is the inverse of Subtask.
func RangeOf(i, maxP, p int) Range {
	return Range{Start: (i*maxP + p - 1) / p, End: ((i+1)*maxP + p - 1) / p}
}

// Validate checks that parallelism p fits under max parallelism maxP.
func Validate(p, maxP int) error {
	if maxP < 1 || maxP > MaxMaxParallelism {
		return fmt.Errorf("keygroup: max parallelism %d is outside [1, %d]", maxP, MaxMaxParallelism)
	}
	if p < 1 || p > maxP {
		return fmt.Errorf("keygroup: parallelism %d is outside [1, max parallelism %d]", p, maxP)
	}
	return nil
}

// MaxMaxParallelism is the largest supported max parallelism: key groups
// are stored in two bytes.
const MaxMaxParallelism = 1 << 15
