package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	IDApp     = "appId"
	IDAUD     = "aud"
	IDCreated = cfapi.IDCreated
)

// errCodeExists is the API's "application already exists" (duplicate
// domain) error code.
const errCodeExists = 11010

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
}

// Flusher writes cloudflare.AccessApplication targets.
type Flusher struct {
	clients *cfapi.Clients
	log     *slog.Logger
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access application flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Flusher{clients: cfg.Clients, log: log}
}

// Kind returns "cloudflare.AccessApplication".
func (*Flusher) Kind() string { return Name }

// Flush makes the Access application match req.Result.Desired.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	if req.ClusterID == "" {
		return engine.Outcome{}, errors.New("cluster id not known yet")
	}
	var prev map[string]string
	if req.Prev != nil {
		prev = req.Prev.DownstreamIDs
	}
	log := f.log.With("target", req.Target.String())
	if req.Result.Desired == nil {
		if err := f.remove(ctx, log, prev); err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}}, nil
	}
	var spec Spec
	if err := json.Unmarshal(req.Result.Desired, &spec); err != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired state: %w", err))
	}
	spec = Canonical(spec)
	a, err := f.clients.For(ctx, spec.AccountID, spec.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	// The recorded app is no longer the one wanted (another account, or
	// the spec now names a different app to adopt): let it go first.
	if prev[IDApp] != "" && (prev[IDAccount] != "" && prev[IDAccount] != a.ID || spec.ID != "" && spec.ID != prev[IDApp]) {
		if err := f.remove(ctx, log, prev); err != nil {
			return engine.Outcome{}, err
		}
		prev = nil
	}

	app, created, err := f.find(ctx, a, spec, prev)
	if err != nil {
		return engine.Outcome{}, err
	}
	if app == nil {
		if app, err = f.create(ctx, log, a, spec, req); err != nil {
			return engine.Outcome{}, err
		}
		created = true
	} else if !matches(app, spec) {
		if err := f.update(ctx, a, app.ID, spec); err != nil {
			return engine.Outcome{}, err
		}
		log.Info("updated Access application", "appId", app.ID, "domain", spec.Domain)
	}
	return engine.Outcome{DownstreamIDs: cfapi.SetCredentials(map[string]string{
		IDAccount: a.ID, IDApp: app.ID, IDAUD: app.AUD, IDCreated: fmt.Sprint(created),
	}, spec.Credentials)}, nil
}

// find returns the application to manage and whether we created it; nil
// when one must be created.
func (f *Flusher) find(ctx context.Context, a *cfapi.Account, spec Spec, prev map[string]string) (*cloudflare.AccessApplication, bool, error) {
	if id := prev[IDApp]; id != "" {
		app, err := f.get(ctx, a, id)
		if err != nil || app != nil {
			return app, prev[IDCreated] == "true", err
		}
		// Gone (deleted out of band): look again as if new.
	}
	if spec.ID != "" {
		app, err := f.get(ctx, a, spec.ID)
		if err != nil {
			return nil, false, err
		}
		if app == nil {
			return nil, false, engine.Permanent(fmt.Errorf("Access application %s (spec.id) does not exist in account %s", spec.ID, a.ID))
		}
		return app, false, nil
	}
	var apps []cloudflare.AccessApplication
	err := cfapi.Call(ctx, "list Access applications", func(ctx context.Context) error {
		var err error
		apps, _, err = a.API.ListAccessApplications(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccessApplicationsParams{})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	for i := range apps {
		if !strings.EqualFold(apps[i].Domain, spec.Domain) {
			continue
		}
		if !spec.Adopt {
			return nil, false, clash(spec.Domain, nil)
		}
		return &apps[i], false, nil
	}
	return nil, false, nil
}

// get reads one application; nil, nil when it does not exist.
func (f *Flusher) get(ctx context.Context, a *cfapi.Account, id string) (*cloudflare.AccessApplication, error) {
	return cfapi.Get(ctx, "get Access application "+id, func(ctx context.Context) (cloudflare.AccessApplication, error) {
		return a.API.GetAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), id)
	})
}

func clash(domain string, err error) error {
	msg := fmt.Sprintf("Access application for %s exists and is not managed by conflux-sync; set adopt", domain)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

func (f *Flusher) create(ctx context.Context, log *slog.Logger, a *cfapi.Account, spec Spec, req engine.Request) (*cloudflare.AccessApplication, error) {
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
	var app cloudflare.AccessApplication
	err := cfapi.Call(ctx, "create Access application "+spec.Domain, func(ctx context.Context) error {
		var err error
		app, err = a.API.CreateAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), params)
		return err
	})
	if cfapi.HasCode(err, errCodeExists) || cfapi.StatusOf(err) == http.StatusConflict {
		// Someone made one by hand between our list and create.
		return nil, clash(spec.Domain, err)
	}
	if err != nil {
		return nil, err
	}
	log.Info("created Access application", "appId", app.ID, "domain", spec.Domain)
	// Nothing downstream marks the app as ours: record it before anything
	// else can fail.
	if req.Checkpoint != nil {
		ids := cfapi.SetCredentials(map[string]string{IDAccount: a.ID, IDApp: app.ID, IDCreated: "true"}, spec.Credentials)
		if cerr := req.Checkpoint(ctx, ids); cerr != nil {
			// Unrecorded, the app would look hand-made next time and clash
			// forever: undo the create while we still know it is ours.
			if derr := f.delete(ctx, a, app.ID); derr != nil {
				return nil, fmt.Errorf("record new Access application %s: %w (and deleting it again failed: %v)", app.ID, cerr, derr)
			}
			return nil, fmt.Errorf("record new Access application %s (deleted it again): %w", app.ID, cerr)
		}
	}
	return &app, nil
}

// putBody is the full-replace PUT body. It is sent through Raw rather than
// UpdateAccessApplication because that client's allowed_idps and tags are
// omitempty: an emptied list could never be cleared.
type putBody struct {
	Name                   string   `json:"name"`
	Domain                 string   `json:"domain"`
	Type                   string   `json:"type"`
	SessionDuration        string   `json:"session_duration"`
	Policies               []string `json:"policies"`
	AllowedIdps            []string `json:"allowed_idps"`
	AutoRedirectToIdentity bool     `json:"auto_redirect_to_identity"`
	AppLauncherVisible     bool     `json:"app_launcher_visible"`
	Tags                   []string `json:"tags"`
}

func (f *Flusher) update(ctx context.Context, a *cfapi.Account, id string, spec Spec) error {
	body := putBody{
		Name: spec.Name, Domain: spec.Domain, Type: spec.Type, SessionDuration: spec.SessionDuration,
		Policies:               orEmpty(spec.Policies),
		AllowedIdps:            orEmpty(spec.AllowedIdps),
		AutoRedirectToIdentity: spec.AutoRedirectToIdentity,
		AppLauncherVisible:     *spec.AppLauncherVisible,
		Tags:                   orEmpty(spec.Tags),
	}
	err := cfapi.Call(ctx, "update Access application "+id, func(ctx context.Context) error {
		_, err := a.API.Raw(ctx, http.MethodPut, appPath(a.ID, id), body, nil)
		return err
	})
	if cfapi.HasCode(err, errCodeExists) || cfapi.StatusOf(err) == http.StatusConflict {
		return clash(spec.Domain, err)
	}
	return err
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

// remove deletes the recorded app if we created it, with the credentials
// it was recorded with; adopted apps are released untouched.
func (f *Flusher) remove(ctx context.Context, log *slog.Logger, prev map[string]string) error {
	id := prev[IDApp]
	if id == "" {
		return nil
	}
	if prev[IDCreated] != "true" {
		log.Info("released adopted Access application", "appId", id)
		return nil
	}
	creds, err := cfapi.CredentialsOf(prev)
	if err != nil {
		return err
	}
	a, err := f.clients.For(ctx, prev[IDAccount], creds)
	if err != nil {
		return err
	}
	if err := f.delete(ctx, a, id); err != nil {
		return err
	}
	log.Info("deleted Access application", "appId", id)
	return nil
}

func (f *Flusher) delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access application "+id, func(ctx context.Context) error {
		return a.API.DeleteAccessApplication(ctx, cloudflare.AccountIdentifier(a.ID), id)
	}))
}

// matches compares the fields this kind manages, with the API's defaults
// for absent values.
func matches(app *cloudflare.AccessApplication, spec Spec) bool {
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
	return app.Name == spec.Name &&
		strings.EqualFold(app.Domain, spec.Domain) &&
		typ == spec.Type &&
		sameDuration(app.SessionDuration, spec.SessionDuration) &&
		slices.Equal(ids, orEmpty(spec.Policies)) &&
		slices.Equal(orEmpty(sortedSet(app.AllowedIdps)), orEmpty(spec.AllowedIdps)) &&
		slices.Equal(orEmpty(sortedSet(app.Tags)), orEmpty(spec.Tags)) &&
		boolOr(app.AutoRedirectToIdentity, false) == spec.AutoRedirectToIdentity &&
		boolOr(app.AppLauncherVisible, true) == *spec.AppLauncherVisible
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
