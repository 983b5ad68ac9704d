package gatewayrule

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
	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	// IDRulePrefix + a rule's name is the key of its id.
	IDRulePrefix = "rule:"
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	// Store is read for the lists rules name ($<GatewayList target>).
	Store  *store.Store
	Logger *slog.Logger
}

// Flusher writes cloudflare.GatewayRule targets: the merged rules of a
// target, each its own downstream rule marked as the target's.
type Flusher struct {
	clients *cfapi.Clients
	store   *store.Store
	log     *slog.Logger
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Gateway rule flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Flusher{clients: cfg.Clients, store: cfg.Store, log: log}
}

// Kind returns Name.
func (f *Flusher) Kind() string { return Name }

// maxTagName is the longest target name a tag spells out; a longer one
// (a Kubernetes rule set names its account and Secret) is written as a
// fingerprint, so that the description people read stays short.
const maxTagName = 40

// Tag is what marks a rule as the target's: the cluster's marker and the
// target's name (or, beyond maxTagName characters, the first 12 hex
// digits of its sha256). A rule's description is the tag, then a space
// and the spec's description.
func Tag(clusterID string, target api.TargetRef) string {
	name := target.Name
	if len(name) > maxTagName {
		sum := sha256.Sum256([]byte(name))
		name = "#" + hex.EncodeToString(sum[:])[:12]
	}
	return cfapi.Marker(clusterID) + " [" + name + "]"
}

// describe is the description written for r.
func describe(tag, user string) string {
	if user == "" {
		return tag
	}
	return tag + " " + user
}

// tagged reports whether desc carries tag.
func tagged(desc, tag string) bool {
	rest, ok := strings.CutPrefix(desc, tag)
	return ok && (rest == "" || rest[0] == ' ')
}

// Flush makes the account's rules marked as this target's the desired
// ones: each found by name (the recorded id first, then the tag in its
// description), created, updated or deleted. Rules without the tag and
// not recorded (made in the dashboard, or by another target) are never
// touched.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	var prevIDs map[string]string
	if req.Prev != nil {
		prevIDs = req.Prev.DownstreamIDs
	}
	var d Desired
	if req.Result.Desired != nil {
		if err := json.Unmarshal(req.Result.Desired, &d); err != nil {
			return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired Gateway rules: %w", err))
		}
	}
	tag := Tag(req.ClusterID, req.Target)
	prevAccount := prevIDs[IDAccount]
	// release deletes this target's rules from the account they were
	// recorded in, with the credentials they were written with.
	release := func() ([]string, error) {
		creds, err := cfapi.CredentialsOf(prevIDs)
		if err != nil {
			return nil, engine.Permanent(err)
		}
		old, err := f.clients.For(ctx, prevAccount, creds)
		if err != nil {
			return nil, err
		}
		return f.sync(ctx, req, old, tag, nil, prevIDs, nil)
	}
	if req.Result.Desired == nil {
		if prevAccount == "" {
			return engine.Outcome{DownstreamIDs: map[string]string{}}, nil
		}
		plan, err := release()
		if err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: plan}, nil
	}
	a, err := f.clients.For(ctx, d.AccountID, d.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	rules, waits, err := f.resolveLists(ctx, req, a, d.Rules)
	if err != nil {
		return engine.Outcome{}, err
	}
	if waits != "" {
		return engine.Outcome{Plan: []string{waits}}, nil
	}
	var plan []string
	if prevAccount != "" && prevAccount != a.ID {
		// The rule set moved to another account: the old one's go.
		if plan, err = release(); err != nil {
			return engine.Outcome{}, err
		}
		prevIDs = nil
	}
	ids := map[string]string{}
	lines, err := f.sync(ctx, req, a, tag, rules, prevIDs, ids)
	plan = append(plan, lines...)
	if err != nil {
		return engine.Outcome{}, err
	}
	ids[IDAccount] = a.ID
	ids = cfapi.SetCredentials(ids, d.Credentials)
	return engine.Outcome{DownstreamIDs: ids, Plan: plan}, nil
}

// resolveLists returns rules with every list reference written as the
// API takes it ($ and the list id without dashes): a cloudflare.GatewayList
// target's recorded list, else the account's one list of that name; a
// 32-hex reference is already an id. A target whose list is not made yet,
// or a name that is neither a target nor a list of the account, is waited
// for (engine.WaitFor on the target of that name: it may be written
// later); in a dry run whose plan creates the list, waits is the plan.
func (f *Flusher) resolveLists(ctx context.Context, req engine.Request, a *cfapi.Account, rules []Rule) (out []Rule, waits string, err error) {
	var accountLists []zero_trust.GatewayList
	listed := false
	resolved := map[string]string{}
	resolve := func(ruleName, name string) (id, waits string, err error) {
		if id, ok := resolved[name]; ok {
			return id, "", nil
		}
		if listIDRE.MatchString(name) {
			return strings.ToLower(name), "", nil
		}
		var l cfapi.GatewayList
		var ok bool
		if f.store != nil {
			err := f.store.View(func(v *store.View) (err error) {
				l, ok, err = cfapi.ResolveGatewayList(v, name, req.DryRun)
				return err
			})
			switch {
			case errors.Is(err, cfapi.ErrGatewayListToBeCreated):
				return "", fmt.Sprintf("waits for Gateway list %s (to be created): rule %s refers to it", name, ruleName), nil
			case errors.Is(err, cfapi.ErrGatewayListNotReady):
				return "", "", cfapi.WaitForGatewayList(name, "not created yet; rule "+ruleName+" refers to it")
			case err != nil:
				return "", "", err
			}
		}
		if ok {
			if l.AccountID != "" && l.AccountID != a.ID {
				return "", "", engine.Permanent(fmt.Errorf("rule %q: list $%s is in account %s, the rules in %s", ruleName, name, l.AccountID, a.ID))
			}
			return strings.ReplaceAll(l.ID, "-", ""), "", nil
		}
		if !listed {
			// The Gateway list kind's call (cloudflare-go v6); the API
			// answers every list in one page.
			if err := cfapi.Call(ctx, "list Gateway lists", func(ctx context.Context) error {
				page, err := a.V6.ZeroTrust.Gateway.Lists.List(ctx, zero_trust.GatewayListListParams{AccountID: cf6.F(a.ID)})
				if page != nil {
					accountLists = page.Result
				}
				return err
			}); err != nil {
				return "", "", err
			}
			listed = true
		}
		var found []string
		for _, l := range accountLists {
			if l.Name == name {
				found = append(found, l.ID)
			}
		}
		switch len(found) {
		case 0:
			return "", "", cfapi.WaitForGatewayList(name, fmt.Sprintf("neither a %s target nor a list of account %s yet; rule %s refers to it", cfapi.KindGatewayList, a.ID, ruleName))
		case 1:
			return strings.ReplaceAll(found[0], "-", ""), "", nil
		}
		return "", "", engine.Permanent(fmt.Errorf("rule %q: %d lists of account %s are named %q: name the list by a %s target or by its id", ruleName, len(found), a.ID, name, cfapi.KindGatewayList))
	}
	out = make([]Rule, len(rules))
	for i, r := range rules {
		for _, e := range []*string{&r.Traffic, &r.Identity, &r.DevicePosture} {
			var rerr error
			*e = listRefRE.ReplaceAllStringFunc(*e, func(m string) string {
				if rerr != nil || waits != "" {
					return m
				}
				sub := listRefRE.FindStringSubmatch(m)
				name := sub[1] + sub[2]
				id, w, err := resolve(r.Name, name)
				if err != nil || w != "" {
					rerr, waits = err, w
					return m
				}
				resolved[name] = id
				return "$" + id
			})
			if rerr != nil || waits != "" {
				return nil, waits, rerr
			}
		}
		out[i] = r
	}
	return out, "", nil
}

// sync writes rules (nil: none) into a's rule set of this target, and
// records each rule's id in ids (when not nil). It returns the plan.
func (f *Flusher) sync(ctx context.Context, req engine.Request, a *cfapi.Account, tag string, rules []Rule, prevIDs, ids map[string]string) ([]string, error) {
	var remote []cloudflare.TeamsRule
	if err := cfapi.Call(ctx, "list Gateway rules", func(ctx context.Context) (err error) {
		remote, err = a.API.TeamsRules(ctx, a.ID)
		return err
	}); err != nil {
		return nil, err
	}
	// recorded maps a recorded rule id to the name it was recorded under:
	// a rule renamed in the dashboard is still that rule.
	recorded := map[string]string{}
	for k, id := range prevIDs {
		if name, ok := strings.CutPrefix(k, IDRulePrefix); ok {
			recorded[id] = name
		}
	}
	// ours maps a name to the rules of this target with that name: the
	// recorded one first.
	ours := map[string][]cloudflare.TeamsRule{}
	for _, r := range remote {
		name, isRecorded := recorded[r.ID]
		switch {
		case isRecorded:
			ours[name] = append([]cloudflare.TeamsRule{r}, ours[name]...)
		case tagged(r.Description, tag):
			ours[r.Name] = append(ours[r.Name], r)
		}
	}
	// A rule a previous controller made (takeOver) becomes ours while no
	// rule of ours has its name; one marked by conflux-sync (this target
	// or another) is never taken.
	for _, r := range rules {
		if r.TakeOver == "" || len(ours[r.Name]) > 0 {
			continue
		}
		for _, x := range remote {
			if strings.EqualFold(x.ID, r.TakeOver) && !strings.Contains(x.Description, cfapi.Marker("")) {
				ours[r.Name] = []cloudflare.TeamsRule{x}
			}
		}
	}
	var plan []string
	for _, r := range rules {
		want := f.teamsRule(r, tag)
		have := ours[r.Name]
		delete(ours, r.Name)
		var extra []cloudflare.TeamsRule
		if len(have) > 1 {
			extra = have[1:]
		}
		// A second rule of ours with one name (a create repeated after a
		// crash) goes.
		for _, x := range extra {
			ours[r.Name+"\x00"+x.ID] = []cloudflare.TeamsRule{x}
		}
		if len(have) == 0 {
			plan = append(plan, fmt.Sprintf("create Gateway rule %s (%s %s, precedence %d)", r.Name, r.Filters[0], r.Action, r.Precedence))
			if req.DryRun {
				continue
			}
			var made cloudflare.TeamsRule
			if err := cfapi.Call(ctx, "create Gateway rule "+r.Name, func(ctx context.Context) (err error) {
				made, err = a.API.TeamsCreateRule(ctx, a.ID, want)
				return err
			}); err != nil {
				return plan, err
			}
			if ids != nil {
				ids[IDRulePrefix+r.Name] = made.ID
			}
			f.log.Info("created Gateway rule", "target", req.Target.String(), "rule", r.Name, "id", made.ID)
			continue
		}
		cur := have[0]
		if ids != nil {
			ids[IDRulePrefix+r.Name] = cur.ID
		}
		changes := diff(cur, want)
		if len(changes) == 0 {
			continue
		}
		plan = append(plan, fmt.Sprintf("update Gateway rule %s (id %s): %s", r.Name, cur.ID, strings.Join(changes, ", ")))
		if req.DryRun {
			continue
		}
		if err := cfapi.Call(ctx, "update Gateway rule "+cur.ID, func(ctx context.Context) error {
			_, err := a.API.TeamsUpdateRule(ctx, a.ID, cur.ID, want)
			return err
		}); err != nil {
			return plan, err
		}
		f.log.Info("updated Gateway rule", "target", req.Target.String(), "rule", r.Name, "id", cur.ID, "changes", strings.Join(changes, ", "))
	}
	for _, key := range slices.Sorted(maps.Keys(ours)) {
		for _, r := range ours[key] {
			plan = append(plan, fmt.Sprintf("delete Gateway rule %s (id %s)", r.Name, r.ID))
			if req.DryRun {
				continue
			}
			if err := cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Gateway rule "+r.ID, func(ctx context.Context) error {
				return a.API.TeamsDeleteRule(ctx, a.ID, r.ID)
			})); err != nil {
				return plan, err
			}
			f.log.Info("deleted Gateway rule", "target", req.Target.String(), "rule", r.Name, "id", r.ID)
		}
	}
	return plan, nil
}

// teamsRule is r as the client sends it.
func (f *Flusher) teamsRule(r Rule, tag string) cloudflare.TeamsRule {
	t := cloudflare.TeamsRule{
		Name: r.Name, Description: describe(tag, r.Description), Precedence: r.Precedence, Enabled: r.Enabled,
		Action: cloudflare.TeamsGatewayAction(r.Action), Traffic: r.Traffic, Identity: r.Identity, DevicePosture: r.DevicePosture,
	}
	for _, fl := range r.Filters {
		t.Filters = append(t.Filters, cloudflare.TeamsFilterType(fl))
	}
	if len(r.RuleSettings) > 0 {
		// Validated when the fragment was accepted.
		t.RuleSettings, _ = decodeSettings(r.RuleSettings)
	}
	if len(r.Schedule) > 0 {
		s, _ := decodeSchedule(r.Schedule)
		t.Schedule = &s
	}
	return t
}

// diff lists what differs between the remote rule and want, remote value
// first. rule_settings and schedule compare as the client encodes them,
// so the API's spelling of defaults does not count.
func diff(have, want cloudflare.TeamsRule) []string {
	var out []string
	str := func(field, h, w string) {
		if h != w {
			out = append(out, fmt.Sprintf("%s %q -> %q", field, h, w))
		}
	}
	str("name", have.Name, want.Name)
	str("description", have.Description, want.Description)
	str("action", string(have.Action), string(want.Action))
	str("filters", fmt.Sprint(have.Filters), fmt.Sprint(want.Filters))
	str("traffic", have.Traffic, want.Traffic)
	str("identity", have.Identity, want.Identity)
	str("device_posture", have.DevicePosture, want.DevicePosture)
	if have.Enabled != want.Enabled {
		out = append(out, fmt.Sprintf("enabled %t -> %t", have.Enabled, want.Enabled))
	}
	if have.Precedence != want.Precedence {
		out = append(out, fmt.Sprintf("precedence %d -> %d", have.Precedence, want.Precedence))
	}
	if h, w := encode(have.RuleSettings), encode(want.RuleSettings); h != w {
		out = append(out, fmt.Sprintf("rule_settings %s -> %s", h, w))
	}
	if h, w := encode(have.Schedule), encode(want.Schedule); h != w {
		out = append(out, fmt.Sprintf("schedule %s -> %s", h, w))
	}
	return out
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
