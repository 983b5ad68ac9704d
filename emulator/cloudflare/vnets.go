package cloudflare

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// virtualNetwork is a teamnet virtual network. Every account has exactly one
// active default network, created lazily (see Server.defaultVnet). Deletion
// is soft so is_deleted=true listings work like tunnels and routes.
type virtualNetwork struct {
	id        string
	name      string
	comment   string
	isDefault bool
	created   time.Time
	deletedAt *time.Time
}

// defaultVnetName is the name given to the lazily created default network.
const defaultVnetName = "default"

func vnetJSON(v *virtualNetwork) map[string]any {
	return map[string]any{
		"id": v.id, "name": v.name, "comment": v.comment, "is_default_network": v.isDefault,
		"created_at": v.created, "deleted_at": v.deletedAt,
	}
}

// virtualNetworks are the account's virtual networks; {id} finds only an
// active one (deleted ones are only listed).
var virtualNetworks = collection[*virtualNetwork]{
	of:       func(a *account) *[]*virtualNetwork { return &a.vnets },
	id:       func(v *virtualNetwork) string { return v.id },
	matches:  func(v *virtualNetwork, id string) bool { return v.id == id && v.deletedAt == nil },
	notFound: func(string) *apiError { return vnetNotFound() },
	answer:   func(_ *account, v *virtualNetwork) any { return vnetJSON(v) },
	page:     pages(1000, 1000),
}

func vnetNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 1003, "Virtual network not found")
}

// findVnet returns the active virtual network with id, or nil.
func (a *account) findVnet(id string) *virtualNetwork {
	for _, v := range a.vnets {
		if v.id == id && v.deletedAt == nil {
			return v
		}
	}
	return nil
}

// defaultVnet returns the id of the account's active default virtual
// network, creating it (named "default") on first use. A newly created one
// is saved at once, so its id survives a restart even when it was created
// by a read or by a call that then failed. Caller holds s.mu.
func (s *Server) defaultVnet(a *account) string {
	for _, v := range a.vnets {
		if v.isDefault && v.deletedAt == nil {
			return v.id
		}
	}
	v := &virtualNetwork{id: newUUID(), name: defaultVnetName, isDefault: true, created: s.now()}
	a.vnets = append(a.vnets, v)
	s.persistLocked()
	return v.id
}

// vnetNameTaken reports whether another active network is called name.
func (a *account) vnetNameTaken(name, except string) bool {
	return slices.ContainsFunc(a.vnets, func(v *virtualNetwork) bool {
		return v.deletedAt == nil && v.id != except && v.name == name
	})
}

func vnetNameConflict(name string) *apiError {
	return newAPIError(http.StatusConflict, 1014, "A virtual network named "+strconv.Quote(name)+" already exists")
}

// makeDefault moves the default flag to v.
func (a *account) makeDefault(v *virtualNetwork) {
	for _, o := range a.vnets {
		o.isDefault = o == v
	}
}

// activeRoutesIn counts live routes in vnet id.
func (a *account) activeRoutesIn(id string) int {
	n := 0
	for _, rt := range a.routes {
		if rt.deletedAt == nil && rt.vnet == id {
			n++
		}
	}
	return n
}

func (s *Server) listVnets(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	q := r.URL.Query()
	deleted, aerr := isDeletedFilter(q)
	if aerr != nil {
		return aerr
	}
	var isDefault *bool
	if v := q.Get("is_default"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newAPIError(http.StatusBadRequest, 1001, "is_default must be a boolean")
		}
		isDefault = &b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	s.defaultVnet(a)
	var out []*virtualNetwork
	for _, v := range a.vnets {
		switch {
		case (v.deletedAt != nil) != deleted:
		case q.Get("id") != "" && v.id != q.Get("id"):
		case q.Get("name") != "" && v.name != q.Get("name"):
		case isDefault != nil && v.isDefault != *isDefault:
		default:
			out = append(out, v)
		}
	}
	writePage(w, r, out, virtualNetworks.page, vnetJSON)
	return nil
}

// getVnet reads one active network; a deleted one is not found, like a
// deleted route read by id.
func (s *Server) getVnet(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	s.defaultVnet(a)
	v := a.findVnet(r.PathValue("id"))
	if v == nil {
		return vnetNotFound()
	}
	writeResult(w, http.StatusOK, vnetJSON(v), nil)
	return nil
}

func (s *Server) createVnet(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var body struct {
		Name    string `json:"name"`
		Comment string `json:"comment"`
		// The API takes both: is_default (what cloudflare-go v0 sends,
		// deprecated) and is_default_network (the current name).
		IsDefault        bool `json:"is_default"`
		IsDefaultNetwork bool `json:"is_default_network"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return aerr
	}
	if body.Name == "" {
		return newAPIError(http.StatusBadRequest, 1001, "Virtual network name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	// The account's default network exists before any other, as it does on
	// a real account.
	s.defaultVnet(a)
	if a.vnetNameTaken(body.Name, "") {
		return vnetNameConflict(body.Name)
	}
	v := &virtualNetwork{id: newUUID(), name: body.Name, comment: body.Comment, created: s.now()}
	a.vnets = append(a.vnets, v)
	if body.IsDefault || body.IsDefaultNetwork {
		a.makeDefault(v)
	}
	writeResult(w, http.StatusOK, vnetJSON(v), nil)
	return nil
}

// updateVnet is a PATCH: absent fields are kept; a present comment
// (including "" or null) replaces the stored one. Setting
// is_default_network moves the default flag; clearing it on the default
// network is refused, since an account always has one default.
func (s *Server) updateVnet(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var keys map[string]json.RawMessage
	if aerr := decodeBody(r, &keys); aerr != nil {
		return aerr
	}
	var name, comment *string
	var isDefault *bool
	for key, dst := range map[string]any{"name": &name, "comment": &comment, "is_default_network": &isDefault} {
		if raw, ok := keys[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return badBody(err)
			}
		}
	}
	if _, ok := keys["comment"]; ok && comment == nil {
		comment = new(string) // "comment":null clears
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	// The default network is made (and saved) before the lookup, so it
	// exists after this call even when {id} is not found.
	s.defaultVnet(a)
	i, aerr := virtualNetworks.index(a, r.PathValue("id"))
	if aerr != nil {
		return aerr
	}
	v := a.vnets[i]
	if name != nil {
		if *name == "" {
			return newAPIError(http.StatusBadRequest, 1001, "Virtual network name must not be empty")
		}
		if a.vnetNameTaken(*name, v.id) {
			return vnetNameConflict(*name)
		}
	}
	if isDefault != nil && !*isDefault && v.isDefault {
		return newAPIError(http.StatusBadRequest, 1001,
			"Cannot unset the default virtual network; mark another virtual network as the default instead")
	}
	if name != nil {
		v.name = *name
	}
	if comment != nil {
		v.comment = *comment
	}
	if isDefault != nil && *isDefault {
		a.makeDefault(v)
	}
	writeResult(w, http.StatusOK, vnetJSON(v), nil)
	return nil
}

// deleteVnet is soft, and refuses the default network and one that
// routes still use.
func (s *Server) deleteVnet(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return virtualNetworks.update(s, w, r, scope, func(a *account, v *virtualNetwork) (any, *apiError) {
		if v.isDefault {
			return nil, newAPIError(http.StatusBadRequest, 1001,
				"Cannot delete the default virtual network; mark another virtual network as the default first")
		}
		if n := a.activeRoutesIn(v.id); n > 0 {
			return nil, newAPIError(http.StatusBadRequest, 1001, "Cannot delete virtual network "+strconv.Quote(v.name)+": it still has "+
				strconv.Itoa(n)+" route(s); delete or move them first")
		}
		now := s.now()
		v.deletedAt = &now
		return vnetJSON(v), nil
	})
}

// AddVirtualNetwork seeds an active, non-default virtual network (creating
// the account if needed) so routes may name it, and returns its id. id ""
// generates one; an id already present (even deleted) is revived under
// name. The default network is created lazily as usual.
func (s *Server) AddVirtualNetwork(accountID, id, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(accountID)
	if id == "" {
		id = newUUID()
	}
	if name == "" {
		name = "vnet-" + id[:min(8, len(id))]
	}
	if i := slices.IndexFunc(a.vnets, func(v *virtualNetwork) bool { return v.id == id }); i >= 0 {
		a.vnets[i].name, a.vnets[i].deletedAt = name, nil
	} else {
		a.vnets = append(a.vnets, &virtualNetwork{id: id, name: name, created: s.now()})
	}
	s.persistLocked()
	return id
}
