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

// Flush makes the Access application match req.Result.Desired. A dry
// run decides the same, returns it as the plan and writes nothing.
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
		line, err := f.remove(ctx, log, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: planOf(line)}, nil
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
	var plan []string
	if prev[IDApp] != "" && (prev[IDAccount] != "" && prev[IDAccount] != a.ID || spec.ID != "" && spec.ID != prev[IDApp]) {
		line, err := f.remove(ctx, log, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
		prev = nil
	}

	app, created, line, err := f.find(ctx, log, a, spec, prev, req.DryRun)
	if err != nil {
		return engine.Outcome{}, err
	}
	plan = append(plan, planOf(line)...)
	if app == nil {
		plan = append(plan, fmt.Sprintf("create Access application %s for %s", spec.Name, spec.Domain))
		if req.DryRun {
			// No id before the create.
			ids := map[string]string{IDAccount: a.ID, IDCreated: cfapi.CreatedValue(true)}
			return engine.Outcome{DownstreamIDs: cfapi.SetCredentials(ids, spec.Credentials), Plan: plan}, nil
		}
		if app, err = f.create(ctx, log, a, spec, req); err != nil {
			return engine.Outcome{}, err
		}
		created = true
	} else if diffs := differences(app, spec); len(diffs) > 0 {
		plan = append(plan, fmt.Sprintf("update Access application %s (id %s): %s", app.Domain, app.ID, strings.Join(diffs, ", ")))
		if !req.DryRun {
			if err := f.update(ctx, a, app.ID, spec); err != nil {
				return engine.Outcome{}, err
			}
			log.Info("updated Access application", "appId", app.ID, "domain", spec.Domain, "changes", diffs)
		}
	}
	return engine.Outcome{DownstreamIDs: cfapi.SetCredentials(map[string]string{
		IDAccount: a.ID, IDApp: app.ID, IDAUD: app.AUD, IDCreated: cfapi.CreatedValue(created),
	}, spec.Credentials), Plan: plan}, nil
}

// planOf is the plan of one action; "" is none.
func planOf(line string) []string {
	if line == "" {
		return nil
	}
	return []string{line}
}

// find returns the application to manage and whether we created (or took
// over) it; nil when one must be created. plan says how it became ours
// when it was not yet: taken over or adopted.
func (f *Flusher) find(ctx context.Context, log *slog.Logger, a *cfapi.Account, spec Spec, prev map[string]string, dryRun bool) (app *cloudflare.AccessApplication, created bool, plan string, err error) {
	if id := prev[IDApp]; id != "" {
		app, err := f.get(ctx, a, id)
		if err != nil || app != nil {
			return app, cfapi.Created(prev, false) || id == spec.TakeOver, "", err
		}
		// Gone (deleted out of band): look again as if new.
	}
	if spec.TakeOver != "" {
		// The previous controller's application is ours as if we had
		// created it; gone, the normal path applies.
		app, err := f.get(ctx, a, spec.TakeOver)
		if err != nil {
			return nil, false, "", err
		}
		if app != nil {
			if !dryRun {
				log.Info("took over Access application", "appId", app.ID, "domain", app.Domain)
			}
			return app, true, fmt.Sprintf("take over Access application %s (id %s: spec.takeOver names it)", app.Domain, app.ID), nil
		}
	}
	if spec.ID != "" {
		app, err := f.get(ctx, a, spec.ID)
		if err != nil {
			return nil, false, "", err
		}
		if app == nil {
			return nil, false, "", engine.Permanent(fmt.Errorf("Access application %s (spec.id) does not exist in account %s", spec.ID, a.ID))
		}
		return app, false, fmt.Sprintf("adopt Access application %s (id %s, named by spec.id)", app.Domain, app.ID), nil
	}
	var apps []cloudflare.AccessApplication
	err = cfapi.Call(ctx, "list Access applications", func(ctx context.Context) error {
		var err error
		apps, _, err = a.API.ListAccessApplications(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccessApplicationsParams{})
		return err
	})
	if err != nil {
		return nil, false, "", err
	}
	for i := range apps {
		if !strings.EqualFold(apps[i].Domain, spec.Domain) {
			continue
		}
		if !spec.Adopt {
			return nil, false, "", clash(spec.Domain, nil)
		}
		return &apps[i], false, fmt.Sprintf("adopt Access application %s (id %s)", apps[i].Domain, apps[i].ID), nil
	}
	return nil, false, "", nil
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
// it was recorded with; adopted apps are released untouched. It says what
// it did ("" for nothing); a dry run only says it.
func (f *Flusher) remove(ctx context.Context, log *slog.Logger, prev map[string]string, dryRun bool) (string, error) {
	id := prev[IDApp]
	if id == "" {
		return "", nil
	}
	if !cfapi.Created(prev, false) {
		if !dryRun {
			log.Info("released adopted Access application", "appId", id)
		}
		return fmt.Sprintf("release adopted Access application %s (left in place, no write)", id), nil
	}
	creds, err := cfapi.CredentialsOf(prev)
	if err != nil {
		return "", err
	}
	a, err := f.clients.For(ctx, prev[IDAccount], creds)
	if err != nil {
		return "", err
	}
	plan := "delete Access application " + id
	if dryRun {
		return plan, nil
	}
	if err := f.delete(ctx, a, id); err != nil {
		return "", err
	}
	log.Info("deleted Access application", "appId", id)
	return plan, nil
}

func (f *Flusher) delete(ctx context.Context, a *cfapi.Account, id string) error {
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
	differ("domain", strings.EqualFold(app.Domain, spec.Domain), app.Domain, spec.Domain)
	differ("type", typ == spec.Type, typ, spec.Type)
	differ("session_duration", sameDuration(app.SessionDuration, spec.SessionDuration), app.SessionDuration, spec.SessionDuration)
	differ("policies", slices.Equal(ids, orEmpty(spec.Policies)), ids, orEmpty(spec.Policies))
	idps := orEmpty(sortedSet(app.AllowedIdps))
	differ("allowed_idps", slices.Equal(idps, orEmpty(spec.AllowedIdps)), idps, orEmpty(spec.AllowedIdps))
	tags := orEmpty(sortedSet(app.Tags))
	differ("tags", slices.Equal(tags, orEmpty(spec.Tags)), tags, orEmpty(spec.Tags))
	auto := boolOr(app.AutoRedirectToIdentity, false)
	differ("auto_redirect_to_identity", auto == spec.AutoRedirectToIdentity, auto, spec.AutoRedirectToIdentity)
	visible := boolOr(app.AppLauncherVisible, true)
	differ("app_launcher_visible", visible == *spec.AppLauncherVisible, visible, *spec.AppLauncherVisible)
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
