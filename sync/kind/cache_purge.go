package kind

import "container/list"

// Purge drops every cached result. A snapshot restore replaces the whole
// state, after which a revision number may name different fragments than
// before, so nothing cached can be trusted.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru = list.New()
	c.entries = make(map[string]*list.Element)
	// Flights already running finish for their own waiters, but new
	// requests start afresh and the old results are not stored.
	c.inflight = make(map[flightKey]*flight)
	c.epoch++
}
