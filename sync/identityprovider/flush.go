package identityprovider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount  = cfapi.IDAccount
	IDProvider = "providerId"
	IDName     = "name"
	IDType     = "type"
	// IDSecrets is the hash of the secret config values last written (see
	// doc.go); absent when the spec names no secrets.
	IDSecrets = "secretsHash"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
}

// Flusher writes cloudflare.AccessIdentityProvider targets: the shared
// single-owner flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[desired, zero_trust.IdentityProvider]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the identity provider flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(providers{clients: cfg.Clients}, cfg.Clients, cfg.Logger)
}

// desired is the spec as one flush sees it: Place adds the secret values
// it read (in memory only) and their hash, and the hash last written.
type desired struct {
	Spec
	secrets  map[string]string
	hash     string
	prevHash string
}

// providers is the kind as owned.Flush sees it. Identity providers have
// no comment for the ownership marker: ownership lives in the recorded
// status alone.
type providers struct{ clients *cfapi.Clients }

var _ owned.Kind[desired, zero_trust.IdentityProvider] = providers{}

func (providers) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Access identity provider", IDKey: IDProvider, LabelKey: "name"}
}

func (providers) Canonical(d desired) desired {
	d.Spec = Canonical(d.Spec)
	return d
}

func (providers) Claim(d desired) owned.Claim {
	return owned.Claim{Adopt: d.Adopt, ID: d.ID, TakeOverID: d.TakeOver}
}

// Place reads the secret config values the spec names, at flush time
// only, and hashes them (secretsHash).
func (p providers) Place(ctx context.Context, req engine.Request, d desired) (desired, owned.Place, error) {
	if req.Prev != nil {
		d.prevHash = req.Prev.DownstreamIDs[IDSecrets]
	}
	if keys := d.secretKeys(); len(keys) > 0 {
		d.secrets = make(map[string]string, len(keys))
		h := sha256.New()
		for _, k := range keys {
			var v string
			var err error
			if ref, ok := d.Secrets[k]; ok {
				v, err = p.clients.SecretValue(ctx, ref)
			} else {
				v, err = p.clients.ObjectFieldValue(ctx, d.ObjectSecrets[k])
			}
			if err != nil {
				return d, owned.Place{}, fmt.Errorf("config.%s: %w", k, err)
			}
			d.secrets[k] = v
			// Where a value comes from is not hashed: moving a secret from
			// the object into a Secret with the same value writes nothing.
			fmt.Fprintf(h, "%s\x00%d\x00%s\x00", k, len(v), v)
		}
		d.hash = hex.EncodeToString(h.Sum(nil))
	}
	return d, owned.Place{Account: d.AccountID, Credentials: d.Credentials}, nil
}

func (providers) Ref(p zero_trust.IdentityProvider) owned.Ref {
	return owned.Ref{ID: p.ID, Label: p.Name}
}

// IDs record the provider's name, type and the hash of its secrets.
func (providers) IDs(d desired, _ *zero_trust.IdentityProvider) map[string]string {
	ids := map[string]string{IDName: d.Name, IDType: d.Type}
	if d.hash != "" {
		ids[IDSecrets] = d.hash
	}
	return ids
}

func (providers) Creates(d desired) string { return d.Name + " (" + d.Type + ")" }

// Moved is never: name, type and config are replaced in place.
func (providers) Moved(zero_trust.IdentityProvider, desired, map[string]string) string {
	return ""
}

// Pick takes none when several providers share the name: which one is
// meant only spec.id can say.
func (providers) Pick(d desired, found []zero_trust.IdentityProvider, action string) (*zero_trust.IdentityProvider, error) {
	if len(found) == 1 {
		return &found[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d Access identity providers are named %q: set id to say which to %s", len(found), d.Name, action))
}

func (providers) Clash(d desired, err error) error {
	msg := fmt.Sprintf("an Access identity provider named %q exists and is not managed by conflux-sync; set adopt", d.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// secretKeys are the secret config fields d names, from Secrets or
// from objects, sorted.
func (d desired) secretKeys() []string {
	keys := slices.Collect(maps.Keys(d.Secrets))
	for k := range d.ObjectSecrets {
		if _, ok := d.Secrets[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// config is the API config d asks for, with the secret values Place
// read, as sent (see fields).
func (d desired) config() map[string]any {
	m := make(map[string]any, len(d.Config)+len(d.secrets))
	for k, v := range d.Config {
		var x any
		if json.Unmarshal(v, &x) == nil {
			m[k] = x
		}
	}
	for k, v := range d.secrets {
		m[k] = v
	}
	return fields(m)
}

// fields drops the values that say nothing (null, "", false, [] and {}:
// the API's defaults, which cloudflare-go v0's omitempty never sent
// either), so a field set to its default is no change.
func fields(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case bool:
			if !x {
				continue
			}
		case []any:
			if len(x) == 0 {
				continue
			}
		case map[string]any:
			if len(x) == 0 {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// remoteConfig is the config p was answered with. v6 decodes a provider
// through a union with no discriminator: it takes the first variant that
// fits, AzureAD for every type, so p.Config lacks every field AzureAD has
// not (okta_account, auth_url, issuer_url …). The config is therefore
// read from the raw JSON v6 keeps of the field, whatever its type.
func remoteConfig(p zero_trust.IdentityProvider) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(p.JSON.Config.Raw()), &m)
	return fields(m)
}

// publicFields is a config as the comparison sees it: the managed
// fields that are set, without the secrets, each encoded (the same way
// on both sides, so "&" in a URL compares equal however it was escaped).
func publicFields(c map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range c {
		if _, ok := ConfigFields[k]; !ok {
			continue
		}
		if b, err := json.Marshal(v); err == nil {
			out[k] = string(b)
		}
	}
	return out
}

// scimSettings are the SCIM settings the kind manages, encoded for the
// diff as the plans have always shown them.
type scimSettings struct {
	Enabled                bool   `json:"enabled,omitempty"`
	UserDeprovision        bool   `json:"user_deprovision,omitempty"`
	SeatDeprovision        bool   `json:"seat_deprovision,omitempty"`
	GroupMemberDeprovision bool   `json:"group_member_deprovision,omitempty"`
	IdentityUpdateBehavior string `json:"identity_update_behavior,omitempty"`
}

func (d desired) scim() scimSettings {
	if d.ScimConfig == nil {
		return scimSettings{}
	}
	s := d.ScimConfig
	return scimSettings{Enabled: s.Enabled, UserDeprovision: s.UserDeprovision, SeatDeprovision: s.SeatDeprovision,
		GroupMemberDeprovision: s.GroupMemberDeprovision, IdentityUpdateBehavior: s.IdentityUpdateBehavior}
}

// remoteScim is the SCIM settings p was answered with.
// group_member_deprovision is not in v6's IdentityProviderSCIMConfig: it
// is read from the fields v6 keeps beside those it knows.
func remoteScim(p zero_trust.IdentityProvider) scimSettings {
	c := p.SCIMConfig
	return scimSettings{Enabled: c.Enabled, UserDeprovision: c.UserDeprovision, SeatDeprovision: c.SeatDeprovision,
		GroupMemberDeprovision: c.JSON.ExtraFields["group_member_deprovision"].Raw() == "true",
		IdentityUpdateBehavior: string(c.IdentityUpdateBehavior)}
}

// Diff compares name, type, every managed config field (absent on one
// side is a difference), SCIM settings and, for the secrets the API
// answers redacted, the hash of what was last written with the hash of
// what the Secrets hold now. Secret values are never shown.
func (providers) Diff(p zero_trust.IdentityProvider, d desired, _ string) []string {
	var diffs []string
	if p.Name != d.Name {
		diffs = append(diffs, fmt.Sprintf("name %q -> %q", p.Name, d.Name))
	}
	if string(p.Type) != d.Type {
		diffs = append(diffs, fmt.Sprintf("type %s -> %s", p.Type, d.Type))
	}
	want, have := publicFields(d.config()), publicFields(remoteConfig(p))
	for _, k := range slices.Sorted(maps.Keys(joinKeys(have, want))) {
		h, w := orAbsent(have, k), orAbsent(want, k)
		if h != w {
			diffs = append(diffs, fmt.Sprintf("config.%s %s -> %s", k, h, w))
		}
	}
	if rs, ws := scimOf(remoteScim(p)), scimOf(d.scim()); rs != ws {
		diffs = append(diffs, fmt.Sprintf("scim_config %s -> %s", rs, ws))
	}
	if d.hash != d.prevHash {
		diffs = append(diffs, "secrets "+strings.Join(d.secretKeys(), ", ")+" (changed, or not known to be written)")
	}
	return diffs
}

func joinKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func orAbsent(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "absent"
}

// scimOf encodes SCIM settings with the API's default identity update
// behaviour ("no_action", which it answers for a provider that never set
// one) for an empty one.
func scimOf(s scimSettings) string {
	if s.IdentityUpdateBehavior == "" {
		s.IdentityUpdateBehavior = "no_action"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// body is the create or PUT of d. v6's union of provider params has a
// member per type, each with its own config type; the kind sends the
// generic member (IdentityProviderParam), whose config is the fields as
// given, because the per-type configs lack fields the API takes and the
// kind manages (claims on GitHub, idp_public_cert on SAML …). The SCIM
// settings are v6's, but for group_member_deprovision, which v6 lacks:
// it is set in the body by option.WithJSONSet, v6's way to send a field
// its schema does not have. Like v0, scim_config is sent (as {} when
// nothing is set) and only the settings that are on.
func (d desired) body() (zero_trust.IdentityProviderParam, []option.RequestOption) {
	s := d.scim()
	var sc zero_trust.IdentityProviderSCIMConfigParam
	if s.Enabled {
		sc.Enabled = cf6.F(true)
	}
	if s.UserDeprovision {
		sc.UserDeprovision = cf6.F(true)
	}
	if s.SeatDeprovision {
		sc.SeatDeprovision = cf6.F(true)
	}
	if s.IdentityUpdateBehavior != "" {
		sc.IdentityUpdateBehavior = cf6.F(zero_trust.IdentityProviderSCIMConfigIdentityUpdateBehavior(s.IdentityUpdateBehavior))
	}
	var opts []option.RequestOption
	if s.GroupMemberDeprovision {
		opts = append(opts, option.WithJSONSet("scim_config.group_member_deprovision", true))
	}
	return zero_trust.IdentityProviderParam{
		Name: cf6.F(d.Name), Type: cf6.F(zero_trust.IdentityProviderType(d.Type)),
		Config: cf6.F[any](d.config()), SCIMConfig: cf6.F(sc),
	}, opts
}

// Get reads one provider; nil, nil when it does not exist.
func (providers) Get(ctx context.Context, a *cfapi.Account, id string) (*zero_trust.IdentityProvider, error) {
	p, err := cfapi.Get(ctx, "get Access identity provider "+id, func(ctx context.Context) (*zero_trust.IdentityProvider, error) {
		return a.V6.ZeroTrust.IdentityProviders.Get(ctx, id, zero_trust.IdentityProviderGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || p == nil || *p == nil {
		return nil, err
	}
	return *p, nil
}

// listPage is the page size of List; the API's maximum.
const listPage = 1000

// List returns the providers named like d, through every page. v6 lists
// them as IdentityProviderListResponse, the same object under another
// union: each is decoded again, from the JSON v6 kept, as the
// IdentityProvider the reads answer.
func (providers) List(ctx context.Context, a *cfapi.Account, d desired) ([]zero_trust.IdentityProvider, bool, error) {
	all, err := cfapi.EveryPage(ctx, "list Access identity providers", listPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.IdentityProviderListResponse], error) {
			return a.V6.ZeroTrust.IdentityProviders.List(ctx, zero_trust.IdentityProviderListParams{
				AccountID: cf6.F(a.ID), Page: cf6.F(page), PerPage: cf6.F(perPage),
			})
		})
	if err != nil {
		return nil, false, err
	}
	var out []zero_trust.IdentityProvider
	for _, item := range all {
		if item.Name != d.Name {
			continue
		}
		var p zero_trust.IdentityProvider
		if err := p.UnmarshalJSON([]byte(item.JSON.RawJSON())); err != nil {
			return nil, false, fmt.Errorf("decode Access identity provider %s: %w", item.ID, err)
		}
		out = append(out, p)
	}
	return out, true, nil
}

func (providers) Create(ctx context.Context, a *cfapi.Account, d desired, _ string) (zero_trust.IdentityProvider, error) {
	body, opts := d.body()
	var p zero_trust.IdentityProvider
	err := cfapi.Call(ctx, "create Access identity provider "+d.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.IdentityProviders.New(ctx, zero_trust.IdentityProviderNewParams{
			AccountID: cf6.F(a.ID), IdentityProvider: body,
		}, opts...)
		if res != nil {
			p = *res
		}
		return err
	})
	return p, err
}

// Update replaces name, type, config (secrets included) and SCIM
// settings (the API's PUT).
func (providers) Update(ctx context.Context, a *cfapi.Account, old zero_trust.IdentityProvider, d desired, _ string) (zero_trust.IdentityProvider, error) {
	body, opts := d.body()
	var p zero_trust.IdentityProvider
	err := cfapi.Call(ctx, "update Access identity provider "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.IdentityProviders.Update(ctx, old.ID, zero_trust.IdentityProviderUpdateParams{
			AccountID: cf6.F(a.ID), IdentityProvider: body,
		}, opts...)
		if res != nil {
			p = *res
		}
		return err
	})
	return p, err
}

// Delete removes the provider; one already gone is done.
func (providers) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access identity provider "+id, func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.IdentityProviders.Delete(ctx, id, zero_trust.IdentityProviderDeleteParams{AccountID: cf6.F(a.ID)})
		return err
	}))
}
