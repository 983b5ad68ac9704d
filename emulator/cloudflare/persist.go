package cloudflare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// stateVersion is the only file format Open understands.
const stateVersion = 1

// stateFile is the on-disk form of everything a client can observe through
// the API. Tokens, faults, rate windows and request counts are deliberately
// absent: they describe a test run, not the emulated account.
type stateFile struct {
	Version  int            `json:"version"`
	Accounts []accountState `json:"accounts"`
	Zones    []zoneState    `json:"zones"`
}

type accountState struct {
	ID string `json:"id"`
	// DefaultVnet is kept so routes created after a restart land in the same
	// virtual network as those created before it. Files written before
	// virtual networks were emulated have only this (and the routes' vnet
	// ids); restore rebuilds the networks from them.
	DefaultVnet string              `json:"default_virtual_network_id,omitempty"`
	Tunnels     []tunnelState       `json:"tunnels"`
	AccessApps  []accessAppState    `json:"access_apps"`
	Routes      []routeState        `json:"routes"`
	Vnets       []vnetState         `json:"virtual_networks,omitempty"`
	Groups      []groupState        `json:"access_groups,omitempty"`
	Lists       []gatewayListState  `json:"gateway_lists,omitempty"`
	Rules       []gatewayRuleState  `json:"gateway_rules,omitempty"`
	Policies    []policyState       `json:"access_policies,omitempty"`
	Tokens      []serviceTokenState `json:"access_service_tokens,omitempty"`
	IDPs        []idpState          `json:"access_identity_providers,omitempty"`
}

type gatewayListState struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Type        string            `json:"type"`
	Items       []gatewayListItem `json:"items,omitempty"`
	Created     time.Time         `json:"created_at"`
	Updated     time.Time         `json:"updated_at"`
}

type gatewayRuleState struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   string         `json:"description,omitempty"`
	Precedence    uint64         `json:"precedence"`
	Version       uint64         `json:"version"`
	Enabled       bool           `json:"enabled"`
	Action        string         `json:"action"`
	Filters       []string       `json:"filters"`
	Traffic       string         `json:"traffic,omitempty"`
	Identity      string         `json:"identity,omitempty"`
	DevicePosture string         `json:"device_posture,omitempty"`
	Settings      map[string]any `json:"rule_settings,omitempty"`
	Schedule      map[string]any `json:"schedule,omitempty"`
	Created       time.Time      `json:"created_at"`
	Updated       time.Time      `json:"updated_at"`
}

// idpState keeps the config secrets, as Cloudflare does.
type idpState struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	Config  map[string]any `json:"config,omitempty"`
	Scim    map[string]any `json:"scim_config,omitempty"`
	Created time.Time      `json:"created_at"`
	Updated time.Time      `json:"updated_at"`
}

// serviceTokenState keeps the secret: the emulator stands for Cloudflare,
// which keeps it to check requests (the state file is 0600).
type serviceTokenState struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	ClientID string    `json:"client_id"`
	Secret   string    `json:"client_secret"`
	Duration string    `json:"duration"`
	Version  int64     `json:"client_secret_version"`
	Created  time.Time `json:"created_at"`
	Updated  time.Time `json:"updated_at"`
	Expires  time.Time `json:"expires_at,omitzero"`
}

type groupState struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Include []any     `json:"include"`
	Exclude []any     `json:"exclude,omitempty"`
	Require []any     `json:"require,omitempty"`
	Created time.Time `json:"created_at"`
	Updated time.Time `json:"updated_at"`
}

type vnetState struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Comment   string     `json:"comment,omitempty"`
	IsDefault bool       `json:"is_default_network"`
	Created   time.Time  `json:"created_at"`
	Deleted   *time.Time `json:"deleted_at,omitempty"`
}

type tunnelState struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Secret        string          `json:"secret"`
	ConfigSrc     string          `json:"config_src"`
	Created       time.Time       `json:"created_at"`
	Deleted       *time.Time      `json:"deleted_at,omitempty"`
	ConfigVersion int             `json:"config_version"`
	Config        json.RawMessage `json:"config,omitempty"`
}

type accessAppState struct {
	ID       string         `json:"id"`
	AUD      string         `json:"aud"`
	Fields   map[string]any `json:"fields"`
	Policies []string       `json:"policies,omitempty"`
	Created  time.Time      `json:"created_at"`
	Updated  time.Time      `json:"updated_at"`
	// SaaS holds what the server generated for a saas application's
	// saas_app (client id and secret, SSO endpoint, ...).
	SaaS map[string]any `json:"saas,omitempty"`
}

type routeState struct {
	ID       string       `json:"id"`
	Network  netip.Prefix `json:"network"`
	TunnelID string       `json:"tunnel_id"`
	Comment  string       `json:"comment,omitempty"`
	Vnet     string       `json:"virtual_network_id"`
	Created  time.Time    `json:"created_at"`
	Deleted  *time.Time   `json:"deleted_at,omitempty"`
}

type zoneState struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Account string       `json:"account"`
	Created time.Time    `json:"created_at"`
	Records []*dnsRecord `json:"dns_records"`
}

// Open is New plus persistence: when cfg.StateFile is set it loads the state
// saved there (a missing file means an empty emulator) and from then on
// rewrites the file after every successful change. A file that cannot be read
// or parsed, or has an unknown version, is an error.
func Open(cfg Config) (*Server, error) {
	s := New(cfg)
	if cfg.StateFile == "" {
		return s, nil
	}
	st, err := readState(cfg.StateFile)
	if err != nil {
		return nil, err
	}
	s.stateFile = cfg.StateFile
	if st != nil {
		s.restore(st)
	}
	return s, nil
}

// Save writes the state file now. It is a no-op without a state file; the
// seeding helpers, which cannot return errors, only log failed writes, so
// callers that need to know call Save afterwards.
func (s *Server) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// readState returns nil, nil for a missing file.
func readState(path string) (*stateFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read emulator state: %w", err)
	}
	var hdr struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil {
		return nil, fmt.Errorf("emulator state %s is corrupt: %w", path, err)
	}
	if hdr.Version != stateVersion {
		return nil, fmt.Errorf("emulator state %s has unsupported version %d (want %d)", path, hdr.Version, stateVersion)
	}
	// UseNumber keeps Access app numbers exactly as clients sent them.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var st stateFile
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("emulator state %s is corrupt: %w", path, err)
	}
	if err := st.compactConfigs(); err != nil {
		return nil, fmt.Errorf("emulator state %s is corrupt: %w", path, err)
	}
	return &st, nil
}

// compactConfigs undoes the file's indentation inside tunnel configurations
// so they are served byte-for-byte as before the restart.
func (st *stateFile) compactConfigs() error {
	for _, a := range st.Accounts {
		for i, t := range a.Tunnels {
			if t.Config == nil {
				continue
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, t.Config); err != nil {
				return fmt.Errorf("tunnel %s config: %w", t.ID, err)
			}
			a.Tunnels[i].Config = buf.Bytes()
		}
	}
	return nil
}

// restore replaces the in-memory state with st; called before serving.
func (s *Server) restore(st *stateFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, as := range st.Accounts {
		a := s.accountLocked(as.ID)
		for _, vs := range as.Vnets {
			a.vnets = append(a.vnets, &virtualNetwork{id: vs.ID, name: vs.Name, comment: vs.Comment,
				isDefault: vs.IsDefault, created: vs.Created, deletedAt: vs.Deleted})
		}
		for _, ts := range as.Tunnels {
			a.tunnels = append(a.tunnels, &tunnel{id: ts.ID, account: as.ID, name: ts.Name, secret: ts.Secret,
				configSrc: ts.ConfigSrc, created: ts.Created, deletedAt: ts.Deleted,
				configVersion: ts.ConfigVersion, config: ts.Config})
		}
		for _, ap := range as.AccessApps {
			if ap.Fields == nil {
				ap.Fields = map[string]any{}
			}
			a.apps = append(a.apps, &accessApp{id: ap.ID, aud: ap.AUD, fields: ap.Fields,
				policies: ap.Policies, created: ap.Created, updated: ap.Updated, saas: ap.SaaS})
		}
		a.restorePolicies(as.Policies)
		for _, gs := range as.Groups {
			a.groups = append(a.groups, &accessGroup{id: gs.ID, name: gs.Name, include: gs.Include,
				exclude: gs.Exclude, require: gs.Require, created: gs.Created, updated: gs.Updated})
		}
		for _, ls := range as.Lists {
			a.lists = append(a.lists, &gatewayList{id: ls.ID, name: ls.Name, description: ls.Description,
				typ: ls.Type, items: ls.Items, created: ls.Created, updated: ls.Updated})
		}
		for _, rs := range as.Rules {
			a.rules = append(a.rules, &gatewayRule{id: rs.ID, name: rs.Name, description: rs.Description,
				precedence: rs.Precedence, version: rs.Version, enabled: rs.Enabled, action: rs.Action,
				filters: rs.Filters, traffic: rs.Traffic, identity: rs.Identity, devicePosture: rs.DevicePosture,
				settings: rs.Settings, schedule: rs.Schedule, created: rs.Created, updated: rs.Updated})
		}
		for _, ts := range as.Tokens {
			a.tokens = append(a.tokens, &serviceToken{id: ts.ID, name: ts.Name, clientID: ts.ClientID, secret: ts.Secret,
				duration: ts.Duration, version: ts.Version, created: ts.Created, updated: ts.Updated, expires: ts.Expires})
		}
		for _, ps := range as.IDPs {
			a.idps = append(a.idps, &identityProvider{id: ps.ID, name: ps.Name, kind: ps.Type, config: ps.Config,
				scim: ps.Scim, created: ps.Created, updated: ps.Updated})
		}
		for _, rs := range as.Routes {
			a.routes = append(a.routes, &tunnelRoute{id: rs.ID, network: rs.Network, tunnelID: rs.TunnelID,
				comment: rs.Comment, vnet: rs.Vnet, created: rs.Created, deletedAt: rs.Deleted})
		}
		s.restoreLegacyVnets(a, as.DefaultVnet)
	}
	for _, zs := range st.Zones {
		s.accountLocked(zs.Account)
		s.zones[zs.ID] = &zone{id: zs.ID, name: zs.Name, account: zs.Account, created: zs.Created, records: zs.Records}
	}
}

// restoreLegacyVnets rebuilds the virtual networks a file written before
// they were emulated implies: the recorded default id becomes the default
// network "default", and every other vnet id a route names becomes a
// network "vnet-<id prefix>", created with its first route. Files that list
// their networks are left alone. Caller holds s.mu.
func (s *Server) restoreLegacyVnets(a *account, defaultID string) {
	if len(a.vnets) > 0 {
		return
	}
	add := func(id string, created time.Time) {
		if id == "" {
			return
		}
		if i := slices.IndexFunc(a.vnets, func(v *virtualNetwork) bool { return v.id == id }); i >= 0 {
			if created.Before(a.vnets[i].created) {
				a.vnets[i].created = created
			}
			return
		}
		name := "vnet-" + id[:min(8, len(id))]
		if id == defaultID {
			name = defaultVnetName
		}
		a.vnets = append(a.vnets, &virtualNetwork{id: id, name: name, isDefault: id == defaultID, created: created})
	}
	first := s.now()
	for _, rt := range a.routes {
		if rt.created.Before(first) {
			first = rt.created
		}
	}
	add(defaultID, first)
	for _, rt := range a.routes {
		add(rt.vnet, rt.created)
	}
}

// snapshotLocked converts the state to its file form, sorted so that equal
// states produce equal files. Caller holds s.mu.
func (s *Server) snapshotLocked() *stateFile {
	st := &stateFile{Version: stateVersion, Accounts: []accountState{}, Zones: []zoneState{}}
	for _, a := range s.accounts {
		st.Accounts = append(st.Accounts, a.state())
	}
	sort.Slice(st.Accounts, func(i, j int) bool { return st.Accounts[i].ID < st.Accounts[j].ID })
	for _, z := range s.zones {
		st.Zones = append(st.Zones, zoneState{ID: z.id, Name: z.name, Account: z.account, Created: z.created, Records: z.records})
	}
	sort.Slice(st.Zones, func(i, j int) bool { return st.Zones[i].ID < st.Zones[j].ID })
	return st
}

func (a *account) state() accountState {
	as := accountState{ID: a.id,
		Tunnels: []tunnelState{}, AccessApps: []accessAppState{}, Routes: []routeState{}}
	for _, v := range a.vnets {
		if v.isDefault && v.deletedAt == nil {
			as.DefaultVnet = v.id
		}
		as.Vnets = append(as.Vnets, vnetState{ID: v.id, Name: v.name, Comment: v.comment, IsDefault: v.isDefault,
			Created: v.created, Deleted: v.deletedAt})
	}
	for _, t := range a.tunnels {
		as.Tunnels = append(as.Tunnels, tunnelState{ID: t.id, Name: t.name, Secret: t.secret, ConfigSrc: t.configSrc,
			Created: t.created, Deleted: t.deletedAt, ConfigVersion: t.configVersion, Config: t.config})
	}
	for _, ap := range a.apps {
		as.AccessApps = append(as.AccessApps, accessAppState{ID: ap.id, AUD: ap.aud, Fields: ap.fields,
			Policies: ap.policies, Created: ap.created, Updated: ap.updated, SaaS: ap.saas})
	}
	as.Policies = a.policyStates()
	for _, g := range a.groups {
		as.Groups = append(as.Groups, groupState{ID: g.id, Name: g.name, Include: g.include,
			Exclude: g.exclude, Require: g.require, Created: g.created, Updated: g.updated})
	}
	for _, l := range a.lists {
		as.Lists = append(as.Lists, gatewayListState{ID: l.id, Name: l.name, Description: l.description,
			Type: l.typ, Items: l.items, Created: l.created, Updated: l.updated})
	}
	for _, g := range a.rules {
		as.Rules = append(as.Rules, gatewayRuleState{ID: g.id, Name: g.name, Description: g.description,
			Precedence: g.precedence, Version: g.version, Enabled: g.enabled, Action: g.action,
			Filters: g.filters, Traffic: g.traffic, Identity: g.identity, DevicePosture: g.devicePosture,
			Settings: g.settings, Schedule: g.schedule, Created: g.created, Updated: g.updated})
	}
	for _, t := range a.tokens {
		as.Tokens = append(as.Tokens, serviceTokenState{ID: t.id, Name: t.name, ClientID: t.clientID, Secret: t.secret,
			Duration: t.duration, Version: t.version, Created: t.created, Updated: t.updated, Expires: t.expires})
	}
	for _, p := range a.idps {
		as.IDPs = append(as.IDPs, idpState{ID: p.id, Name: p.name, Type: p.kind, Config: p.config,
			Scim: p.scim, Created: p.created, Updated: p.updated})
	}
	for _, rt := range a.routes {
		as.Routes = append(as.Routes, routeState{ID: rt.id, Network: rt.network, TunnelID: rt.tunnelID,
			Comment: rt.comment, Vnet: rt.vnet, Created: rt.created, Deleted: rt.deletedAt})
	}
	return as
}

// saveLocked writes the state file atomically: a crash leaves either the old
// or the new file, never a torn one. Holding s.mu serialises writers and
// keeps the snapshot consistent. Caller holds s.mu.
func (s *Server) saveLocked() error {
	if s.stateFile == "" {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Without this, "<" and "&" in tunnel configurations would be rewritten
	// as \u003c and \u0026 and no longer match what clients stored.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.snapshotLocked()); err != nil {
		return fmt.Errorf("encode emulator state: %w", err)
	}
	return writeFileAtomic(s.stateFile, buf.Bytes())
}

// writeFileAtomic replaces path via a synced temporary file in the same
// directory (rename is only atomic within a file system). The file is
// created 0600 because it holds tunnel secrets.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save emulator state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save emulator state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save emulator state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save emulator state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save emulator state: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename itself durable; best effort, as some platforms
// cannot fsync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// persistLocked is saveLocked for the seeding helpers, whose signatures have
// no error to return. Caller holds s.mu.
func (s *Server) persistLocked() {
	if err := s.saveLocked(); err != nil {
		s.log.Error("emulator state not saved", "file", s.stateFile, "err", err)
	}
}

// servePersisted runs a mutating handler against a buffered response and
// saves the state before anything reaches the client, so every change a
// client saw acknowledged is on disk. Failed calls changed nothing and are
// not saved.
func (s *Server) servePersisted(w http.ResponseWriter, r *http.Request, scope TokenScope, h handler) {
	buf := &bufferedResponse{header: http.Header{}}
	if aerr := h(buf, r, scope); aerr != nil {
		writeError(w, aerr)
		return
	}
	if err := s.Save(); err != nil {
		s.log.Error("emulator state not saved", "file", s.stateFile, "err", err)
		writeError(w, newAPIError(http.StatusInternalServerError, 10002, "Emulator state not saved: "+err.Error()))
		return
	}
	buf.flushTo(w)
}

// bufferedResponse holds a handler's response until the state is saved.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	b.WriteHeader(http.StatusOK)
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
