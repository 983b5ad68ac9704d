package cloudflare

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"
)

// tunnelRoute is a private-network route (teamnet). Deletion is soft so
// is_deleted=true listings work like tunnels.
type tunnelRoute struct {
	id        string
	network   netip.Prefix
	tunnelID  string
	comment   string
	vnet      string
	created   time.Time
	deletedAt *time.Time
}

// maxRoutesPerAccount is the published per-account limit.
const maxRoutesPerAccount = 1000

// routeBody is a create or PATCH body. Comment is a pointer so PATCH can
// tell an absent comment (keep) from a present one ("" or null clear).
type routeBody struct {
	Network          string  `json:"network"`
	TunnelID         string  `json:"tunnel_id"`
	Comment          *string `json:"comment"`
	VirtualNetworkID string  `json:"virtual_network_id"`
}

// decodeRouteBody decodes body, mapping "comment":null to an empty comment.
func decodeRouteBody(r *http.Request) (routeBody, *apiError) {
	var raw json.RawMessage
	var body routeBody
	if aerr := decodeBody(r, &raw); aerr != nil {
		return body, aerr
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return body, badBody(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return body, badBody(err)
	}
	if _, ok := keys["comment"]; ok && body.Comment == nil {
		body.Comment = new(string)
	}
	return body, nil
}

func (a *account) routeJSON(rt *tunnelRoute) map[string]any {
	name := ""
	if t := a.findTunnel(rt.tunnelID); t != nil {
		name = t.name
	}
	vnetName := ""
	for _, v := range a.vnets {
		if v.id == rt.vnet {
			vnetName = v.name
		}
	}
	return map[string]any{
		"id": rt.id, "network": rt.network.String(), "tunnel_id": rt.tunnelID, "tunnel_name": name,
		"comment": rt.comment, "created_at": rt.created, "deleted_at": rt.deletedAt,
		"virtual_network_id": rt.vnet, "virtual_network_name": vnetName, "tun_type": "cfd_tunnel",
	}
}

func parseNetwork(s string) (netip.Prefix, *apiError) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, newAPIError(http.StatusBadRequest, 1001, "Invalid network: "+err.Error())
	}
	return p.Masked(), nil
}

// tunnelRoutes are the account's private-network routes; {route} finds
// only a live one. Routes are also addressed by CIDR (routeFor), so only
// the listing and the lookup by id come from the collection.
var tunnelRoutes = collection[*tunnelRoute]{
	of:       func(a *account) *[]*tunnelRoute { return &a.routes },
	id:       func(rt *tunnelRoute) string { return rt.id },
	matches:  func(rt *tunnelRoute, id string) bool { return rt.id == id && rt.deletedAt == nil },
	notFound: func(string) *apiError { return routeNotFound() },
	answer:   func(a *account, rt *tunnelRoute) any { return a.routeJSON(rt) },
	page:     pages(1000, 1000),
}

func routeNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 1003, "Route not found")
}

// activeRoute finds the live route for network in vnet.
func (a *account) activeRoute(network netip.Prefix, vnet string) *tunnelRoute {
	for _, rt := range a.routes {
		if rt.deletedAt == nil && rt.network == network && rt.vnet == vnet {
			return rt
		}
	}
	return nil
}

// checkRoute validates the tunnel reference and uniqueness of rt.
func (a *account) checkRoute(rt *tunnelRoute) *apiError {
	if t := a.findTunnel(rt.tunnelID); t == nil || t.deletedAt != nil {
		return newAPIError(http.StatusBadRequest, 1001, "Tunnel "+rt.tunnelID+" does not exist")
	}
	if a.findVnet(rt.vnet) == nil {
		return newAPIError(http.StatusBadRequest, 1001, "Virtual network "+rt.vnet+" does not exist")
	}
	if o := a.activeRoute(rt.network, rt.vnet); o != nil && o.id != rt.id {
		return newAPIError(http.StatusConflict, 1014, "A route for "+rt.network.String()+" already exists in this virtual network")
	}
	return nil
}

func (s *Server) createRoute(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	body, aerr := decodeRouteBody(r)
	if aerr != nil {
		return aerr
	}
	if cidr := r.PathValue("cidr"); cidr != "" {
		body.Network = cidr
	}
	network, aerr := parseNetwork(body.Network)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	live := 0
	for _, rt := range a.routes {
		if rt.deletedAt == nil {
			live++
		}
	}
	if live >= maxRoutesPerAccount {
		return newAPIError(http.StatusBadRequest, 1001, "Route limit of 1000 reached for this account")
	}
	rt := &tunnelRoute{id: newUUID(), network: network, tunnelID: body.TunnelID,
		vnet: body.VirtualNetworkID, created: s.now()}
	if body.Comment != nil {
		rt.comment = *body.Comment
	}
	if rt.vnet == "" {
		rt.vnet = s.defaultVnet(a)
	}
	if aerr := a.checkRoute(rt); aerr != nil {
		return aerr
	}
	a.routes = append(a.routes, rt)
	writeResult(w, http.StatusOK, a.routeJSON(rt), nil)
	return nil
}

// routeFor resolves either {cidr} (+ virtual_network_id query, default
// vnet when absent) or {route} to a live route. Caller holds s.mu.
func (s *Server) routeFor(r *http.Request, scope TokenScope) (*account, *tunnelRoute, *apiError) {
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return nil, nil, aerr
	}
	if id := r.PathValue("route"); id != "" {
		i, aerr := tunnelRoutes.index(a, id)
		if aerr != nil {
			return nil, nil, aerr
		}
		return a, a.routes[i], nil
	}
	network, aerr := parseNetwork(r.PathValue("cidr"))
	if aerr != nil {
		return nil, nil, aerr
	}
	vnet := r.URL.Query().Get("virtual_network_id")
	if vnet == "" {
		vnet = s.defaultVnet(a)
	}
	rt := a.activeRoute(network, vnet)
	if rt == nil {
		return nil, nil, routeNotFound()
	}
	return a, rt, nil
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, rt, aerr := s.routeFor(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, a.routeJSON(rt), nil)
	return nil
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, rt, aerr := s.routeFor(r, scope)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	rt.deletedAt = &now
	writeResult(w, http.StatusOK, a.routeJSON(rt), nil)
	return nil
}

// updateRoute applies a PATCH; for the CIDR endpoint the body's network
// (always sent by cloudflare-go) may move the route.
func (s *Server) updateRoute(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	body, aerr := decodeRouteBody(r)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, rt, aerr := s.routeFor(r, scope)
	if aerr != nil {
		return aerr
	}
	next := *rt
	if body.Network != "" {
		n, aerr := parseNetwork(body.Network)
		if aerr != nil {
			return aerr
		}
		next.network = n
	}
	if body.TunnelID != "" {
		next.tunnelID = body.TunnelID
	}
	if body.Comment != nil {
		next.comment = *body.Comment
	}
	if body.VirtualNetworkID != "" {
		next.vnet = body.VirtualNetworkID
	}
	if aerr := a.checkRoute(&next); aerr != nil {
		return aerr
	}
	*rt = next
	writeResult(w, http.StatusOK, a.routeJSON(rt), nil)
	return nil
}

// routeForIP returns the most specific live route containing {ip}.
func (s *Server) routeForIP(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return newAPIError(http.StatusBadRequest, 1001, "Invalid IP: "+err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	vnet := r.URL.Query().Get("virtual_network_id")
	if vnet == "" {
		vnet = s.defaultVnet(a)
	}
	var best *tunnelRoute
	for _, rt := range a.routes {
		if rt.deletedAt == nil && rt.vnet == vnet && rt.network.Contains(ip) && (best == nil || rt.network.Bits() > best.network.Bits()) {
			best = rt
		}
	}
	if best == nil {
		return routeNotFound()
	}
	writeResult(w, http.StatusOK, a.routeJSON(best), nil)
	return nil
}

// listRoutes filters like the API; is_deleted omitted means active only
// (since 2025-12-01). cloudflare-go reads only the first page.
func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	q := r.URL.Query()
	deleted, aerr := isDeletedFilter(q)
	if aerr != nil {
		return aerr
	}
	var subset, superset *netip.Prefix
	for key, dst := range map[string]**netip.Prefix{"network_subset": &subset, "network_superset": &superset} {
		if v := q.Get(key); v != "" {
			p, aerr := parseNetwork(v)
			if aerr != nil {
				return aerr
			}
			*dst = &p
		}
	}
	return tunnelRoutes.list(s, w, r, scope, func(rt *tunnelRoute) bool {
		switch {
		case (rt.deletedAt != nil) != deleted:
		case q.Get("tunnel_id") != "" && rt.tunnelID != q.Get("tunnel_id"):
		case q.Get("comment") != "" && rt.comment != q.Get("comment"):
		case q.Get("virtual_network_id") != "" && rt.vnet != q.Get("virtual_network_id"):
		// network_subset=X: routes that are subsets of X.
		case subset != nil && !(subset.Bits() <= rt.network.Bits() && subset.Contains(rt.network.Addr())):
		// network_superset=X: routes that contain X.
		case superset != nil && !(rt.network.Bits() <= superset.Bits() && rt.network.Contains(superset.Addr())):
		default:
			return true
		}
		return false
	})
}
