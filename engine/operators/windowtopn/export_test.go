package windowtopn

// SetCompactMin sets the dead-candidate threshold for compaction and
// returns a function that restores it.
func SetCompactMin(n int) func() {
	old := compactMin
	compactMin = n
	return func() { compactMin = old }
}
