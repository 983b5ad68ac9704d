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

	"github.com/cloudflare/cloudflare-go"

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
type Flusher = owned.Flusher[desired, cloudflare.AccessIdentityProvider]

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

var _ owned.Kind[desired, cloudflare.AccessIdentityProvider] = providers{}

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

func (providers) Ref(p cloudflare.AccessIdentityProvider) owned.Ref {
	return owned.Ref{ID: p.ID, Label: p.Name}
}

// IDs record the provider's name, type and the hash of its secrets.
func (providers) IDs(d desired, _ *cloudflare.AccessIdentityProvider) map[string]string {
	ids := map[string]string{IDName: d.Name, IDType: d.Type}
	if d.hash != "" {
		ids[IDSecrets] = d.hash
	}
	return ids
}

func (providers) Creates(d desired) string { return d.Name + " (" + d.Type + ")" }

// Moved is never: name, type and config are replaced in place.
func (providers) Moved(cloudflare.AccessIdentityProvider, desired, map[string]string) string {
	return ""
}

// Pick takes none when several providers share the name: which one is
// meant only spec.id can say.
func (providers) Pick(d desired, found []cloudflare.AccessIdentityProvider, action string) (*cloudflare.AccessIdentityProvider, error) {
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

// config is the API config d asks for, with the secret values Place read.
func (d desired) config() (cloudflare.AccessIdentityProviderConfiguration, error) {
	m := make(map[string]any, len(d.Config)+len(d.secrets))
	for k, v := range d.Config {
		m[k] = v
	}
	for k, v := range d.secrets {
		m[k] = v
	}
	var c cloudflare.AccessIdentityProviderConfiguration
	b, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		// Validated specs always convert; the values are not quoted.
		return c, engine.Permanent(fmt.Errorf("config does not convert to the API's: %s", strings.SplitN(err.Error(), ":", 2)[0]))
	}
	return c, nil
}

func (d desired) scim() cloudflare.AccessIdentityProviderScimConfiguration {
	if d.ScimConfig == nil {
		return cloudflare.AccessIdentityProviderScimConfiguration{}
	}
	s := d.ScimConfig
	return cloudflare.AccessIdentityProviderScimConfiguration{Enabled: s.Enabled, UserDeprovision: s.UserDeprovision,
		SeatDeprovision: s.SeatDeprovision, GroupMemberDeprovision: s.GroupMemberDeprovision, IdentityUpdateBehavior: s.IdentityUpdateBehavior}
}

// publicFields is a config as the comparison sees it: the managed
// fields that are set (as the API's omitempty leaves them), without the
// secrets, each encoded.
func publicFields(c cloudflare.AccessIdentityProviderConfiguration) map[string]string {
	b, _ := json.Marshal(c)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		if _, ok := ConfigFields[k]; ok {
			out[k] = string(v)
		}
	}
	return out
}

// Diff compares name, type, every managed config field (absent on one
// side is a difference), SCIM settings and, for the secrets the API
// answers redacted, the hash of what was last written with the hash of
// what the Secrets hold now. Secret values are never shown.
func (providers) Diff(p cloudflare.AccessIdentityProvider, d desired, _ string) []string {
	var diffs []string
	if p.Name != d.Name {
		diffs = append(diffs, fmt.Sprintf("name %q -> %q", p.Name, d.Name))
	}
	if p.Type != d.Type {
		diffs = append(diffs, fmt.Sprintf("type %s -> %s", p.Type, d.Type))
	}
	want := map[string]string{}
	if c, err := d.config(); err == nil {
		want = publicFields(c)
	}
	have := publicFields(p.Config)
	for _, k := range slices.Sorted(maps.Keys(joinKeys(have, want))) {
		h, w := orAbsent(have, k), orAbsent(want, k)
		if h != w {
			diffs = append(diffs, fmt.Sprintf("config.%s %s -> %s", k, h, w))
		}
	}
	if rs, ws := scimOf(p.ScimConfig), scimOf(d.scim()); rs != ws {
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

// scimOf encodes SCIM settings without the secret the API makes, with the
// API's default identity update behaviour ("no_action", which it answers
// for a provider that never set one) for an empty one.
func scimOf(s cloudflare.AccessIdentityProviderScimConfiguration) string {
	s.Secret = ""
	if s.IdentityUpdateBehavior == "" {
		s.IdentityUpdateBehavior = "no_action"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// Get reads one provider; nil, nil when it does not exist.
func (providers) Get(ctx context.Context, a *cfapi.Account, id string) (*cloudflare.AccessIdentityProvider, error) {
	return cfapi.Get(ctx, "get Access identity provider "+id, func(ctx context.Context) (cloudflare.AccessIdentityProvider, error) {
		return a.API.GetAccessIdentityProvider(ctx, cloudflare.AccountIdentifier(a.ID), id)
	})
}

// List returns the providers named like d (cloudflare-go pages through
// them all).
func (providers) List(ctx context.Context, a *cfapi.Account, d desired) ([]cloudflare.AccessIdentityProvider, bool, error) {
	var all []cloudflare.AccessIdentityProvider
	err := cfapi.Call(ctx, "list Access identity providers", func(ctx context.Context) error {
		var err error
		all, _, err = a.API.ListAccessIdentityProviders(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccessIdentityProvidersParams{})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var out []cloudflare.AccessIdentityProvider
	for _, p := range all {
		if p.Name == d.Name {
			out = append(out, p)
		}
	}
	return out, true, nil
}

func (providers) Create(ctx context.Context, a *cfapi.Account, d desired, _ string) (cloudflare.AccessIdentityProvider, error) {
	cfg, err := d.config()
	if err != nil {
		return cloudflare.AccessIdentityProvider{}, err
	}
	var p cloudflare.AccessIdentityProvider
	err = cfapi.Call(ctx, "create Access identity provider "+d.Name, func(ctx context.Context) (err error) {
		p, err = a.API.CreateAccessIdentityProvider(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccessIdentityProviderParams{
			Name: d.Name, Type: d.Type, Config: cfg, ScimConfig: d.scim(),
		})
		return err
	})
	return p, err
}

// Update replaces name, type, config (secrets included) and SCIM
// settings (the API's PUT).
func (providers) Update(ctx context.Context, a *cfapi.Account, old cloudflare.AccessIdentityProvider, d desired, _ string) (cloudflare.AccessIdentityProvider, error) {
	cfg, err := d.config()
	if err != nil {
		return cloudflare.AccessIdentityProvider{}, err
	}
	var p cloudflare.AccessIdentityProvider
	err = cfapi.Call(ctx, "update Access identity provider "+old.ID, func(ctx context.Context) (err error) {
		p, err = a.API.UpdateAccessIdentityProvider(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.UpdateAccessIdentityProviderParams{
			ID: old.ID, Name: d.Name, Type: d.Type, Config: cfg, ScimConfig: d.scim(),
		})
		return err
	})
	return p, err
}

// Delete removes the provider; one already gone is done.
func (providers) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access identity provider "+id, func(ctx context.Context) error {
		_, err := a.API.DeleteAccessIdentityProvider(ctx, cloudflare.AccountIdentifier(a.ID), id)
		return err
	}))
}
