package state

// Backend is the keyed state of one operator subtask.
// (Placeholder: the full interface is defined with the in-memory backend.)
type Backend interface {
	// Close releases the backend.
	Close() error
}
