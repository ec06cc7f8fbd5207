package join

// CachedKeys returns the number of join keys (both sides) in memory.
func (o *Operator) CachedKeys() int {
	n := 0
	for s := range o.st {
		if o.st[s].keys != nil {
			n += o.st[s].keys.Len()
		}
	}
	return n
}

// CacheCounts returns the join keys evicted and loaded so far.
func (o *Operator) CacheCounts() (evicted, loaded int) {
	return o.cache.nEvicted, o.cache.nLoaded
}

// Unwritten returns the number of changes keyed state lacks (dirty rows
// and pending deletes).
func (o *Operator) Unwritten() int { return o.dirty() }

// WritesBehind returns how many times the changes were written between
// batches.
func (o *Operator) WritesBehind() int { return o.ss.writesBehind }
