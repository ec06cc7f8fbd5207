package session

// SetCompactMin sets the partition count below which the partition table
// is never rebuilt and returns a function that restores it.
func SetCompactMin(n int) func() {
	old := compactMin
	compactMin = n
	return func() { compactMin = old }
}
