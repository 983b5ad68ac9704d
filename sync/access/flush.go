package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	IDApp     = "appId"
	IDAUD     = "aud"
	IDCreated = cfapi.IDCreated
	// IDClientID is an OIDC SaaS application's client id (not secret:
	// the SaaS side is configured with it). Its client secret is never
	// recorded.
	IDClientID = "clientId"
)

// errCodeExists is the API's "application already exists" (duplicate
// domain) error code.
const errCodeExists = 11010

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
	// Store resolves spec.policies given by name to the ids their
	// cloudflare.AccessPolicy targets recorded.
	Store *store.Store
}

// Flusher writes cloudflare.AccessApplication targets: the shared
// single-owner flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, cloudflare.AccessApplication]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access application flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(apps{store: cfg.Store, clients: cfg.Clients}, cfg.Clients, cfg.Logger)
}

// apps is the kind as owned.Flush sees it. Access applications have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type apps struct {
	// store and clients resolve policies named by name (policyref.go).
	store   *store.Store
	clients *cfapi.Clients
}

var _ owned.Kind[Spec, cloudflare.AccessApplication] = apps{}

func (apps) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Access application", IDKey: IDApp, LabelKey: "domain"}
}

func (apps) Canonical(s Spec) Spec { return Canonical(s) }

func (apps) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, ID: s.ID, TakeOverID: s.TakeOver}
}

// Place resolves spec.policies named by name to their ids (policyref.go);
// the returned spec carries ids only.
func (k apps) Place(ctx context.Context, req engine.Request, s Spec) (Spec, owned.Place, error) {
	ids, waits, err := k.resolvePolicies(ctx, req.DryRun, s)
	if err != nil || waits != "" {
		return s, owned.Place{Waits: waits}, err
	}
	s.Policies = ids
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials, IDs: policyIDs(ids)}, nil
}

func (apps) Ref(app cloudflare.AccessApplication) owned.Ref {
	return owned.Ref{ID: app.ID, Label: app.Domain}
}

func (apps) IDs(_ Spec, app *cloudflare.AccessApplication) map[string]string {
	if app == nil {
		return nil
	}
	ids := map[string]string{IDAUD: app.AUD}
	if sa := app.SaasApplication; sa != nil && sa.AuthType == SaaSAuthOIDC && sa.ClientID != "" {
		ids[IDClientID] = sa.ClientID
	}
	return ids
}

func (apps) Creates(s Spec) string {
	if s.Type == TypeSaaS {
		return "SaaS application " + s.Name
	}
	return s.Name + " for " + s.Domain
}

// Moved: an application of another schema (self-hosted, saas, bookmark)
// is replaced rather than updated into the spec's, since its type is not
// one a PUT is sure to change; self_hosted, ssh and vnc become each other
// in place.
func (apps) Moved(app cloudflare.AccessApplication, s Spec, _ map[string]string) string {
	typ := string(app.Type)
	if typ == "" {
		typ = DefaultType
	}
	if schema(typ) != schema(s.Type) {
		return fmt.Sprintf("it is a %s application and the spec asks for %s", typ, s.Type)
	}
	return ""
}

// schema groups the types whose applications have the same fields.
func schema(typ string) string {
	if selfHosted(typ) {
		return TypeSelfHosted
	}
	return typ
}

// Pick adopts the first: the API refuses a second application for a domain.
func (apps) Pick(_ Spec, found []cloudflare.AccessApplication, _ string) (*cloudflare.AccessApplication, error) {
	return &found[0], nil
}

func (apps) Diff(app cloudflare.AccessApplication, s Spec, _ string) []string {
	return differences(&app, s)
}

// Get reads one application; nil, nil when it does not exist.
func (apps) Get(ctx context.Context, a *cfapi.Account, id string) (*cloudflare.AccessApplication, error) {
	return cfapi.Get(ctx, "get Access application "+id, func(ctx context.Context) (cloudflare.AccessApplication, error) {
		return a.API.GetAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), id)
	})
}

// List returns the applications for the spec's domain; for a saas
// application, whose domain Cloudflare assigns, the saas applications with
// the spec's name.
func (apps) List(ctx context.Context, a *cfapi.Account, s Spec) ([]cloudflare.AccessApplication, bool, error) {
	var all []cloudflare.AccessApplication
	err := cfapi.Call(ctx, "list Access applications", func(ctx context.Context) error {
		var err error
		all, _, err = a.API.ListAccessApplications(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccessApplicationsParams{})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var out []cloudflare.AccessApplication
	for _, app := range all {
		if s.Type == TypeSaaS && app.Type == TypeSaaS && app.Name == s.Name ||
			s.Type != TypeSaaS && strings.EqualFold(app.Domain, s.Domain) {
			out = append(out, app)
		}
	}
	return out, true, nil
}

func (apps) Clash(s Spec, err error) error {
	what := s.Domain
	if s.Type == TypeSaaS {
		what = "SaaS application " + s.Name
	}
	msg := fmt.Sprintf("Access application for %s exists and is not managed by conflux-sync; set adopt", what)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

func (k apps) Create(ctx context.Context, a *cfapi.Account, spec Spec, _ string) (cloudflare.AccessApplication, error) {
	auto, visible := spec.AutoRedirectToIdentity, *spec.AppLauncherVisible
	params := cloudflare.CreateAccessApplicationParams{
		Name:                   spec.Name,
		Domain:                 spec.Domain,
		Type:                   cloudflare.AccessApplicationType(spec.Type),
		SessionDuration:        spec.SessionDuration,
		Policies:               spec.Policies,
		AllowedIdps:            spec.AllowedIdps,
		AutoRedirectToIdentity: &auto,
		AppLauncherVisible:     &visible,
		Tags:                   spec.Tags,
	}
	b, st := settingsBody(spec), spec.AccessApplicationSettings
	params.LogoURL, params.CustomPages, params.SaasApplication = b.LogoURL, st.CustomPages, b.SaasApp
	params.Destinations, params.CustomDenyMessage, params.CustomDenyURL = b.Destinations, b.CustomDenyMessage, b.CustomDenyURL
	params.CustomNonIdentityDenyURL, params.SameSiteCookieAttribute = b.CustomNonIdentityDenyURL, b.SameSiteCookieAttribute
	params.EnableBindingCookie, params.HttpOnlyCookieAttribute, params.PathCookieAttribute = b.EnableBindingCookie, b.HTTPOnlyCookieAttribute, b.PathCookieAttribute
	params.OptionsPreflightBypass, params.ServiceAuth401Redirect, params.SkipInterstitial = b.OptionsPreflightBypass, b.ServiceAuth401Redirect, b.SkipInterstitial
	params.AllowAuthenticateViaWarp, params.CorsHeaders = b.AllowAuthenticateViaWarp, b.CorsHeaders
	var app cloudflare.AccessApplication
	err := cfapi.Call(ctx, "create Access application "+spec.Domain, func(ctx context.Context) error {
		var err error
		app, err = a.API.CreateAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), params)
		return err
	})
	if cfapi.HasCode(err, errCodeExists) || cfapi.StatusOf(err) == http.StatusConflict {
		// Someone made one by hand between our list and create.
		return app, k.Clash(spec, err)
	}
	return app, err
}

// putBody is the full-replace PUT body. It is sent through Raw rather than
// UpdateAccessApplication because that client's allowed_idps and tags are
// omitempty: an emptied list could never be cleared.
type putBody struct {
	Name                   string   `json:"name"`
	Domain                 string   `json:"domain,omitempty"`
	Type                   string   `json:"type"`
	SessionDuration        string   `json:"session_duration,omitempty"`
	Policies               []string `json:"policies"`
	AllowedIdps            []string `json:"allowed_idps"`
	AutoRedirectToIdentity bool     `json:"auto_redirect_to_identity"`
	AppLauncherVisible     bool     `json:"app_launcher_visible"`
	Tags                   []string `json:"tags"`
	settingsPut
}

// settingsPut is the PUT body's settings. Those of the self-hosted schema
// are sent (every one, false included) only for self_hosted, ssh and vnc;
// saas_app only for saas.
type settingsPut struct {
	Destinations             []cloudflare.AccessDestination           `json:"destinations,omitempty"`
	LogoURL                  string                                   `json:"logo_url,omitempty"`
	CustomPages              *[]string                                `json:"custom_pages,omitempty"` // [] clears, as for allowed_idps
	CustomDenyMessage        string                                   `json:"custom_deny_message,omitempty"`
	CustomDenyURL            string                                   `json:"custom_deny_url,omitempty"`
	CustomNonIdentityDenyURL string                                   `json:"custom_non_identity_deny_url,omitempty"`
	SameSiteCookieAttribute  string                                   `json:"same_site_cookie_attribute,omitempty"`
	EnableBindingCookie      *bool                                    `json:"enable_binding_cookie,omitempty"`
	HTTPOnlyCookieAttribute  *bool                                    `json:"http_only_cookie_attribute,omitempty"`
	PathCookieAttribute      *bool                                    `json:"path_cookie_attribute,omitempty"`
	OptionsPreflightBypass   *bool                                    `json:"options_preflight_bypass,omitempty"`
	ServiceAuth401Redirect   *bool                                    `json:"service_auth_401_redirect,omitempty"`
	SkipInterstitial         *bool                                    `json:"skip_interstitial,omitempty"`
	AllowAuthenticateViaWarp *bool                                    `json:"allow_authenticate_via_warp,omitempty"`
	CorsHeaders              *cloudflare.AccessApplicationCorsHeaders `json:"cors_headers,omitempty"`
	SaasApp                  *cloudflare.SaasApplication              `json:"saas_app,omitempty"`
}

func settingsBody(spec Spec) settingsPut {
	st := spec.AccessApplicationSettings
	b := settingsPut{LogoURL: st.LogoURL, SaasApp: toCFSaaS(st.SaaSApp)}
	if spec.Type != TypeBookmark {
		pages := orEmpty(st.CustomPages)
		b.CustomPages = &pages
	}
	if !selfHosted(spec.Type) {
		return b
	}
	val := func(v bool) *bool { return &v }
	b.Destinations = toCFDestinations(wantDestinations(spec))
	b.CustomDenyMessage, b.CustomDenyURL, b.CustomNonIdentityDenyURL = st.CustomDenyMessage, st.CustomDenyURL, st.CustomNonIdentityDenyURL
	b.SameSiteCookieAttribute = st.SameSiteCookieAttribute
	b.EnableBindingCookie, b.HTTPOnlyCookieAttribute = val(st.EnableBindingCookie), val(boolOr(st.HTTPOnlyCookieAttribute, true))
	b.PathCookieAttribute, b.OptionsPreflightBypass = val(st.PathCookieAttribute), val(st.OptionsPreflightBypass)
	b.ServiceAuth401Redirect, b.SkipInterstitial = val(st.ServiceAuth401Redirect), val(st.SkipInterstitial)
	b.AllowAuthenticateViaWarp = cloneBool(st.AllowAuthenticateViaWarp)
	b.CorsHeaders = toCFCORS(st.CORSHeaders)
	return b
}

// Update replaces the application with spec; app is returned as it was,
// since the ids recorded from it do not change.
func (k apps) Update(ctx context.Context, a *cfapi.Account, app cloudflare.AccessApplication, spec Spec, _ string) (cloudflare.AccessApplication, error) {
	body := putBody{
		Name: spec.Name, Domain: spec.Domain, Type: spec.Type, SessionDuration: spec.SessionDuration,
		Policies:               orEmpty(spec.Policies),
		AllowedIdps:            orEmpty(spec.AllowedIdps),
		AutoRedirectToIdentity: spec.AutoRedirectToIdentity,
		AppLauncherVisible:     *spec.AppLauncherVisible,
		Tags:                   orEmpty(spec.Tags),
		settingsPut:            settingsBody(spec),
	}
	err := cfapi.Call(ctx, "update Access application "+app.ID, func(ctx context.Context) error {
		_, err := a.API.Raw(ctx, http.MethodPut, appPath(a.ID, app.ID), body, nil)
		return err
	})
	if cfapi.HasCode(err, errCodeExists) || cfapi.StatusOf(err) == http.StatusConflict {
		return app, k.Clash(spec, err)
	}
	return app, err
}

func appPath(account, id string) string {
	return "/accounts/" + url.PathEscape(account) + "/access/apps/" + url.PathEscape(id)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (apps) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access application "+id, func(ctx context.Context) error {
		return a.API.DeleteAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), id)
	}))
}

// differences lists the fields this kind manages in which app differs
// from spec, with the API's defaults for absent values, remote value first
// ("name a -> b"); none when it matches.
func differences(app *cloudflare.AccessApplication, spec Spec) []string {
	pols := slices.Clone(app.Policies)
	slices.SortStableFunc(pols, func(x, y cloudflare.AccessPolicy) int { return x.Precedence - y.Precedence })
	ids := make([]string, len(pols))
	for i, p := range pols {
		ids[i] = p.ID
	}
	typ := string(app.Type)
	if typ == "" {
		typ = DefaultType
	}
	var out []string
	differ := func(field string, equal bool, remote, want any) {
		if !equal {
			out = append(out, fmt.Sprintf("%s %v -> %v", field, remote, want))
		}
	}
	differ("name", app.Name == spec.Name, app.Name, spec.Name)
	if spec.Type != TypeSaaS {
		differ("domain", strings.EqualFold(app.Domain, spec.Domain), app.Domain, spec.Domain)
	}
	differ("type", typ == spec.Type, typ, spec.Type)
	if selfHosted(spec.Type) {
		differ("session_duration", sameDuration(app.SessionDuration, spec.SessionDuration), app.SessionDuration, spec.SessionDuration)
	}
	differ("policies", slices.Equal(ids, orEmpty(spec.Policies)), ids, orEmpty(spec.Policies))
	idps := orEmpty(sortedSet(app.AllowedIdps))
	differ("allowed_idps", slices.Equal(idps, orEmpty(spec.AllowedIdps)), idps, orEmpty(spec.AllowedIdps))
	tags := orEmpty(sortedSet(app.Tags))
	differ("tags", slices.Equal(tags, orEmpty(spec.Tags)), tags, orEmpty(spec.Tags))
	auto := boolOr(app.AutoRedirectToIdentity, false)
	differ("auto_redirect_to_identity", auto == spec.AutoRedirectToIdentity, auto, spec.AutoRedirectToIdentity)
	visible := boolOr(app.AppLauncherVisible, true)
	differ("app_launcher_visible", visible == *spec.AppLauncherVisible, visible, *spec.AppLauncherVisible)
	settingsDifferences(app, spec, differ)
	return out
}

func sameDuration(remote, want string) bool {
	if remote == "" {
		remote = DefaultSessionDuration
	}
	r, err1 := time.ParseDuration(remote)
	w, err2 := time.ParseDuration(want)
	if err1 != nil || err2 != nil {
		return remote == want
	}
	return r == w
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
