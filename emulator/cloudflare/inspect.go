package cloudflare

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// The methods below read or edit state directly, bypassing tokens, faults,
// rate limits and request counts, so tests can check what a client did (or
// simulate someone else's change) without going through the API. Snapshots
// are copies; unknown ids give nil or ok=false.

// ZoneInfo describes a zone.
type ZoneInfo struct {
	ID   string
	Name string
}

// DNSRecordInfo describes a DNS record. Name is the FQDN, lower-case.
type DNSRecordInfo struct {
	ID      string
	Name    string
	Type    string
	Content string
	Comment string
	Proxied bool
	TTL     int
}

// TunnelInfo describes a tunnel; Deleted tunnels are soft-deleted ones.
type TunnelInfo struct {
	ID      string
	Name    string
	Deleted bool
}

// AccessAppInfo describes an Access application.
type AccessAppInfo struct {
	ID     string
	AUD    string
	Name   string
	Domain string
}

// RouteInfo describes a private-network route; Network is in CIDR form.
type RouteInfo struct {
	ID               string
	Network          string
	TunnelID         string
	Comment          string
	VirtualNetworkID string
	Deleted          bool
}

// Zones returns the account's zones sorted by name.
func (s *Server) Zones(accountID string) []ZoneInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ZoneInfo
	for _, z := range s.zones {
		if z.account == accountID {
			out = append(out, ZoneInfo{ID: z.id, Name: z.name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// DNSRecords returns the zone's records in creation order.
func (s *Server) DNSRecords(zoneID string) []DNSRecordInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		return nil
	}
	out := make([]DNSRecordInfo, 0, len(z.records))
	for _, r := range z.records {
		out = append(out, DNSRecordInfo{ID: r.ID, Name: r.Name, Type: r.Type, Content: r.Content,
			Comment: r.Comment, Proxied: r.Proxied, TTL: r.TTL})
	}
	return out
}

// Tunnels returns the account's tunnels, deleted ones included, in creation
// order.
func (s *Server) Tunnels(accountID string) []TunnelInfo {
	return snapshot(s, accountID, tunnels, func(_ *account, t *tunnel) TunnelInfo {
		return TunnelInfo{ID: t.id, Name: t.name, Deleted: t.deletedAt != nil}
	})
}

// TunnelConfig returns a tunnel's configuration and version as the API
// would serve them: version 0 and a nil config before the first write.
func (s *Server) TunnelConfig(accountID, tunnelID string) (version int, config json.RawMessage, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tunnelLocked(accountID, tunnelID)
	if t == nil {
		return 0, nil, false
	}
	return t.configVersion, slices.Clone(t.config), true
}

// SetTunnelConfig replaces a tunnel's configuration as an out-of-band edit
// (dashboard, another client) would: same validation as the API's PUT, and
// the version is bumped so clients can notice the drift. A failed state
// file write is returned but the change is kept in memory.
func (s *Server) SetTunnelConfig(accountID, tunnelID string, config json.RawMessage) error {
	stored, aerr := checkTunnelConfig(config)
	if aerr != nil {
		return fmt.Errorf("tunnel %s: %w", tunnelID, aerr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tunnelLocked(accountID, tunnelID)
	if t == nil {
		return fmt.Errorf("tunnel %s in account %s: %w", tunnelID, accountID, tunnelNotFound())
	}
	t.setConfig(stored)
	return s.saveLocked()
}

// tunnelLocked finds a tunnel without creating the account. Caller holds s.mu.
func (s *Server) tunnelLocked(accountID, tunnelID string) *tunnel {
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	return a.findTunnel(tunnelID)
}

// AccessApps returns the account's Access applications in creation order.
func (s *Server) AccessApps(accountID string) []AccessAppInfo {
	return snapshot(s, accountID, accessApps, func(_ *account, app *accessApp) AccessAppInfo {
		name, _ := app.fields["name"].(string)
		dom, _ := app.fields["domain"].(string)
		return AccessAppInfo{ID: app.id, AUD: app.aud, Name: name, Domain: dom}
	})
}

// Routes returns the account's routes, deleted ones included, in creation
// order.
func (s *Server) Routes(accountID string) []RouteInfo {
	return snapshot(s, accountID, tunnelRoutes, func(_ *account, rt *tunnelRoute) RouteInfo {
		return RouteInfo{ID: rt.id, Network: rt.network.String(), TunnelID: rt.tunnelID,
			Comment: rt.comment, VirtualNetworkID: rt.vnet, Deleted: rt.deletedAt != nil}
	})
}

// VirtualNetworkInfo describes a teamnet virtual network.
type VirtualNetworkInfo struct {
	ID        string
	Name      string
	Comment   string
	IsDefault bool
	Deleted   bool
}

// VirtualNetworks returns the account's virtual networks, deleted ones
// included, in creation order. It does not create the default network.
func (s *Server) VirtualNetworks(accountID string) []VirtualNetworkInfo {
	return snapshot(s, accountID, virtualNetworks, func(_ *account, v *virtualNetwork) VirtualNetworkInfo {
		return VirtualNetworkInfo{ID: v.id, Name: v.name, Comment: v.comment,
			IsDefault: v.isDefault, Deleted: v.deletedAt != nil}
	})
}
