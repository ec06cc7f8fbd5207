package sessionagg

// SetCompactMin sets the dead-group threshold for rebuilding the
// accumulators and returns a function that restores it.
func SetCompactMin(n int) func() {
	old := compactMin
	compactMin = n
	return func() { compactMin = old }
}
