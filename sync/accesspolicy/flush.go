package accesspolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	IDPolicy  = cfapi.IDAccessPolicy
	IDName    = "name"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
	// Store resolves group rules naming a cloudflare.AccessGroup target
	// to the group id it recorded.
	Store *store.Store
}

// Flusher writes cloudflare.AccessPolicy targets: the shared single-owner
// flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, cloudflare.AccessPolicy]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access policy flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(policies{store: cfg.Store, clients: cfg.Clients}, cfg.Clients, cfg.Logger)
}

// policies is the kind as owned.Flush sees it. Reusable policies have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type policies struct {
	// store and clients resolve group rules by name (groupref.go).
	store   *store.Store
	clients *cfapi.Clients
}

var _ owned.Kind[Spec, cloudflare.AccessPolicy] = policies{}

func (policies) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Access policy", IDKey: IDPolicy, LabelKey: "name"}
}

func (policies) Canonical(s Spec) Spec { return Canonical(s) }

func (policies) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, ID: s.ID, TakeOverID: s.TakeOver}
}

// Place resolves group rules naming their group by name (groupref.go);
// the returned spec names groups by id only.
func (k policies) Place(ctx context.Context, req engine.Request, s Spec) (Spec, owned.Place, error) {
	s, waits, err := k.resolveGroups(ctx, req.DryRun, s)
	if err != nil || waits != "" {
		return s, owned.Place{Waits: waits}, err
	}
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials}, nil
}

func (policies) Ref(p cloudflare.AccessPolicy) owned.Ref {
	return owned.Ref{ID: p.ID, Label: p.Name}
}

// IDs record the policy's name beside its id, for people reading the
// status.
func (policies) IDs(s Spec, _ *cloudflare.AccessPolicy) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (policies) Creates(s Spec) string { return s.Name + " (" + s.Decision + ")" }

// Moved is never: every field of a reusable policy can be replaced in
// place.
func (policies) Moved(cloudflare.AccessPolicy, Spec, map[string]string) string { return "" }

// Pick takes none when several policies share the name: which one is
// meant only spec.id can say.
func (policies) Pick(s Spec, found []cloudflare.AccessPolicy, action string) (*cloudflare.AccessPolicy, error) {
	if len(found) == 1 {
		return &found[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d Access policies are named %q: set id to say which to %s", len(found), s.Name, action))
}

func (policies) Clash(s Spec, err error) error {
	msg := fmt.Sprintf("an Access policy named %q exists and is not managed by conflux-sync; set adopt", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// Diff compares every managed field, with the API's defaults for what
// the spec leaves out (24h sessions, false flags, no groups).
func (policies) Diff(p cloudflare.AccessPolicy, s Spec, _ string) []string {
	var out []string
	differ := func(field string, have, want any) {
		out = append(out, fmt.Sprintf("%s %v -> %v", field, have, want))
	}
	if p.Name != s.Name {
		differ("name", fmt.Sprintf("%q", p.Name), fmt.Sprintf("%q", s.Name))
	}
	if p.Decision != s.Decision {
		differ("decision", p.Decision, s.Decision)
	}
	for _, l := range []struct {
		field string
		have  []any
		want  []json.RawMessage
	}{{"include", p.Include, s.Include}, {"exclude", p.Exclude, s.Exclude}, {"require", p.Require, s.Require}} {
		if have, want := cfapi.AccessRulesHave(l.have), cfapi.AccessRulesWant(l.want); have != want {
			differ(l.field, have, want)
		}
	}
	if have := deref(p.SessionDuration); !sameDuration(have, s.SessionDuration) {
		differ("session_duration", have, s.SessionDuration)
	}
	for _, f := range []struct {
		field string
		have  *bool
		want  bool
	}{{"isolation_required", p.IsolationRequired, s.IsolationRequired},
		{"purpose_justification_required", p.PurposeJustificationRequired, s.PurposeJustificationRequired},
		{"approval_required", p.ApprovalRequired, s.ApprovalRequired}} {
		if have := f.have != nil && *f.have; have != f.want {
			differ(f.field, have, f.want)
		}
	}
	if have := deref(p.PurposeJustificationPrompt); have != s.PurposeJustificationPrompt {
		differ("purpose_justification_prompt", fmt.Sprintf("%q", have), fmt.Sprintf("%q", s.PurposeJustificationPrompt))
	}
	if have, want := approvalString(p.ApprovalGroups), approvalString(approvalGroups(s)); have != want {
		differ("approval_groups", have, want)
	}
	if have, want := connectionString(p.InfrastructureConnectionRules), connectionString(connectionRules(s)); have != want {
		differ("connection_rules", have, want)
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// sameDuration compares two durations by value ("24h" is "1440m"); the
// API's absent value is its default.
func sameDuration(have, want string) bool {
	if have == "" {
		have = DefaultSessionDuration
	}
	h, herr := time.ParseDuration(have)
	w, werr := time.ParseDuration(want)
	if herr != nil || werr != nil {
		return have == want
	}
	return h == w
}

func approvalGroups(s Spec) []cloudflare.AccessApprovalGroup {
	out := make([]cloudflare.AccessApprovalGroup, 0, len(s.ApprovalGroups))
	for _, g := range s.ApprovalGroups {
		out = append(out, cloudflare.AccessApprovalGroup{EmailAddresses: g.EmailAddresses, EmailListUuid: g.EmailListUUID, ApprovalsNeeded: g.ApprovalsNeeded})
	}
	return out
}

// approvalString renders groups for comparing and for the plan: in order
// (the API keeps it), addresses as given.
func approvalString(gs []cloudflare.AccessApprovalGroup) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		var who []string
		if len(g.EmailAddresses) > 0 {
			who = append(who, strings.Join(g.EmailAddresses, ","))
		}
		if g.EmailListUuid != "" {
			who = append(who, "list "+strings.ToLower(g.EmailListUuid))
		}
		parts = append(parts, fmt.Sprintf("%d of %s", g.ApprovalsNeeded, strings.Join(who, " and ")))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func connectionRules(s Spec) *cloudflare.AccessInfrastructureConnectionRules {
	if s.ConnectionRules == nil || s.ConnectionRules.SSH == nil {
		return nil
	}
	alias := s.ConnectionRules.SSH.AllowEmailAlias
	return &cloudflare.AccessInfrastructureConnectionRules{SSH: &cloudflare.AccessInfrastructureConnectionRulesSSH{
		Usernames: slices.Clone(s.ConnectionRules.SSH.Usernames), AllowEmailAlias: &alias}}
}

func connectionString(c *cloudflare.AccessInfrastructureConnectionRules) string {
	if c == nil || c.SSH == nil {
		return "none"
	}
	alias := c.SSH.AllowEmailAlias != nil && *c.SSH.AllowEmailAlias
	return fmt.Sprintf("ssh as [%s] (email alias %t)", strings.Join(c.SSH.Usernames, ","), alias)
}

// Get reads one reusable policy; nil, nil when it does not exist.
func (policies) Get(ctx context.Context, a *cfapi.Account, id string) (*cloudflare.AccessPolicy, error) {
	return cfapi.Get(ctx, "get Access policy "+id, func(ctx context.Context) (cloudflare.AccessPolicy, error) {
		return a.API.GetAccessPolicy(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.GetAccessPolicyParams{PolicyID: id})
	})
}

// List returns the account's reusable policies named like spec (with no
// application id the API lists the reusable ones; cloudflare-go pages
// through them all).
func (policies) List(ctx context.Context, a *cfapi.Account, s Spec) ([]cloudflare.AccessPolicy, bool, error) {
	all, err := cfapi.ListAccessPolicies(ctx, a)
	if err != nil {
		return nil, false, err
	}
	var out []cloudflare.AccessPolicy
	for _, p := range all {
		if p.Name == s.Name {
			out = append(out, p)
		}
	}
	return out, true, nil
}

func (policies) Create(ctx context.Context, a *cfapi.Account, s Spec, _ string) (cloudflare.AccessPolicy, error) {
	var p cloudflare.AccessPolicy
	err := cfapi.Call(ctx, "create Access policy "+s.Name, func(ctx context.Context) (err error) {
		p, err = a.API.CreateAccessPolicy(ctx, cloudflare.AccountIdentifier(a.ID), createParams(s))
		return err
	})
	return p, err
}

// createParams is the whole policy as the API takes it; an update sends
// the same (the API's PUT replaces the policy).
func createParams(s Spec) cloudflare.CreateAccessPolicyParams {
	session := s.SessionDuration
	if session == "" {
		session = DefaultSessionDuration
	}
	isolation, justify, approve := s.IsolationRequired, s.PurposeJustificationRequired, s.ApprovalRequired
	p := cloudflare.CreateAccessPolicyParams{
		Name: s.Name, Decision: s.Decision,
		Include: cfapi.AccessRulesAny(s.Include), Exclude: cfapi.AccessRulesAny(s.Exclude), Require: cfapi.AccessRulesAny(s.Require),
		SessionDuration: &session, IsolationRequired: &isolation, PurposeJustificationRequired: &justify, ApprovalRequired: &approve,
		ApprovalGroups: approvalGroups(s), InfrastructureConnectionRules: connectionRules(s),
	}
	if s.PurposeJustificationPrompt != "" {
		prompt := s.PurposeJustificationPrompt
		p.PurposeJustificationPrompt = &prompt
	}
	return p
}

// Update replaces the policy (the API's PUT).
func (policies) Update(ctx context.Context, a *cfapi.Account, old cloudflare.AccessPolicy, s Spec, _ string) (cloudflare.AccessPolicy, error) {
	c := createParams(s)
	var p cloudflare.AccessPolicy
	err := cfapi.Call(ctx, "update Access policy "+old.ID, func(ctx context.Context) (err error) {
		p, err = a.API.UpdateAccessPolicy(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.UpdateAccessPolicyParams{
			PolicyID: old.ID, Name: c.Name, Decision: c.Decision, Include: c.Include, Exclude: c.Exclude, Require: c.Require,
			SessionDuration: c.SessionDuration, IsolationRequired: c.IsolationRequired,
			PurposeJustificationRequired: c.PurposeJustificationRequired, PurposeJustificationPrompt: c.PurposeJustificationPrompt,
			ApprovalRequired: c.ApprovalRequired, ApprovalGroups: c.ApprovalGroups, InfrastructureConnectionRules: c.InfrastructureConnectionRules,
		})
		return err
	})
	return p, err
}

// Delete removes the policy; one already gone is done. The API refuses to
// delete a policy that applications still use. That changes without a
// new fragment (the applications' own targets drop it or are deleted
// too), so it is retried, not held.
func (policies) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	err := cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access policy "+id, func(ctx context.Context) error {
		return a.API.DeleteAccessPolicy(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.DeleteAccessPolicyParams{PolicyID: id})
	}))
	if cfapi.StatusOf(err) != http.StatusBadRequest {
		return err
	}
	apps, lerr := cfapi.AppsUsingPolicy(ctx, a, id)
	switch {
	case lerr != nil:
		return lerr
	case len(apps) == 0:
		return err
	}
	// %v, not %w: the API's 400 is permanent, this wait is not.
	return fmt.Errorf("Access policy %s is still used by %d application(s) (%s); waiting for them to drop it (%v)", id, len(apps), strings.Join(apps, ", "), err)
}
