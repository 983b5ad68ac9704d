package conflux

import "sort"

// The methods below read state directly, bypassing tokens, faults and
// request counts, so tests can check what a client did. They return copies.

// Configs returns every config sorted by tenant, application, environment
// and name.
func (s *Server) Configs() []ConfigObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConfigObject, 0, len(s.configs))
	for _, c := range s.configs {
		out = append(out, c.clone().ConfigObject)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return naturalKey(a.Tenant, a.Application, a.Environment, a.Name) < naturalKey(b.Tenant, b.Application, b.Environment, b.Name)
	})
	return out
}

// Versions returns a config's versions, oldest first; nil for an unknown
// config.
func (s *Server) Versions(configID string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.configs[configID] == nil {
		return nil
	}
	out := make([]Version, 0, len(s.versions[configID]))
	for _, v := range s.versions[configID] {
		out = append(out, *v)
	}
	return out
}

// Policy returns a config's release policy (rules highest priority first)
// and whether the config exists.
func (s *Server) Policy(configID string) (Policy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.configs[configID]
	if c == nil {
		return Policy{}, false
	}
	return c.Policy.clone(), true
}
