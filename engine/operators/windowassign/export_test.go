package windowassign

// SetPageBytes sets the size of the SESSION buffer's pages and returns a
// function that restores it.
func SetPageBytes(n int) func() {
	old := pageBytes
	pageBytes = n
	return func() { pageBytes = old }
}
