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

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/api"
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
type Flusher = owned.Flusher[Spec, policy]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access policy flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(policies{store: cfg.Store, clients: cfg.Clients}, cfg.Clients, cfg.Logger)
}

// policy is a reusable Access policy as v6 reads it by id; the other
// calls' answers (New, Update, List), the same object in other types,
// are read through it (cfapi.AsV6).
type policy = zero_trust.AccessPolicyGetResponse

// policies is the kind as owned.Flush sees it. Reusable policies have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type policies struct {
	// store and clients resolve group rules by name (groupref.go).
	store   *store.Store
	clients *cfapi.Clients
}

var _ owned.Kind[Spec, policy] = policies{}

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

func (policies) Ref(p policy) owned.Ref {
	return owned.Ref{ID: p.ID, Label: p.Name}
}

// IDs record the policy's name beside its id, for people reading the
// status.
func (policies) IDs(s Spec, _ *policy) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (policies) Creates(s Spec) string { return s.Name + " (" + s.Decision + ")" }

// Moved is never: every field of a reusable policy can be replaced in
// place.
func (policies) Moved(policy, Spec, map[string]string) string { return "" }

// Pick takes none when several policies share the name: which one is
// meant only spec.id can say.
func (policies) Pick(s Spec, found []policy, action string) (*policy, error) {
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
// the spec leaves out (24h sessions, false flags, no groups). Rules are
// read as the API answered them (cfapi.AccessRulesRaw), and so are the
// SSH connection rules, which v6's types lack (sshRules).
func (policies) Diff(p policy, s Spec, _ string) []string {
	var out []string
	differ := func(field string, have, want any) {
		out = append(out, fmt.Sprintf("%s %v -> %v", field, have, want))
	}
	if p.Name != s.Name {
		differ("name", fmt.Sprintf("%q", p.Name), fmt.Sprintf("%q", s.Name))
	}
	if string(p.Decision) != s.Decision {
		differ("decision", p.Decision, s.Decision)
	}
	for _, l := range []struct {
		field string
		have  string
		want  []json.RawMessage
	}{{"include", p.JSON.Include.Raw(), s.Include}, {"exclude", p.JSON.Exclude.Raw(), s.Exclude}, {"require", p.JSON.Require.Raw(), s.Require}} {
		if have, want := cfapi.AccessRulesHave(cfapi.AccessRulesRaw(l.have)), cfapi.AccessRulesWant(l.want); have != want {
			differ(l.field, have, want)
		}
	}
	if !sameDuration(p.SessionDuration, s.SessionDuration) {
		differ("session_duration", p.SessionDuration, s.SessionDuration)
	}
	for _, f := range []struct {
		field      string
		have, want bool
	}{{"isolation_required", p.IsolationRequired, s.IsolationRequired},
		{"purpose_justification_required", p.PurposeJustificationRequired, s.PurposeJustificationRequired},
		{"approval_required", p.ApprovalRequired, s.ApprovalRequired}} {
		if f.have != f.want {
			differ(f.field, f.have, f.want)
		}
	}
	if p.PurposeJustificationPrompt != s.PurposeJustificationPrompt {
		differ("purpose_justification_prompt", fmt.Sprintf("%q", p.PurposeJustificationPrompt), fmt.Sprintf("%q", s.PurposeJustificationPrompt))
	}
	if have, want := approvalString(approvalsHave(p.ApprovalGroups)), approvalString(s.ApprovalGroups); have != want {
		differ("approval_groups", have, want)
	}
	if have, want := connectionString(sshHave(p)), connectionString(sshWant(s)); have != want {
		differ("connection_rules", have, want)
	}
	return out
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

// approvalsHave is the answer's approval groups in the spec's terms.
func approvalsHave(gs []zero_trust.ApprovalGroup) []api.AccessApprovalGroup {
	out := make([]api.AccessApprovalGroup, 0, len(gs))
	for _, g := range gs {
		out = append(out, api.AccessApprovalGroup{EmailAddresses: g.EmailAddresses, EmailListUUID: g.EmailListUUID, ApprovalsNeeded: int(g.ApprovalsNeeded)})
	}
	return out
}

// approvalGroups is the spec's approval groups as v6 sends them (an
// empty list as []).
func approvalGroups(s Spec) []zero_trust.ApprovalGroupParam {
	out := make([]zero_trust.ApprovalGroupParam, 0, len(s.ApprovalGroups))
	for _, g := range s.ApprovalGroups {
		p := zero_trust.ApprovalGroupParam{ApprovalsNeeded: cf6.F(float64(g.ApprovalsNeeded))}
		if len(g.EmailAddresses) > 0 {
			p.EmailAddresses = cf6.F(g.EmailAddresses)
		}
		if g.EmailListUUID != "" {
			p.EmailListUUID = cf6.F(g.EmailListUUID)
		}
		out = append(out, p)
	}
	return out
}

// approvalString renders groups for comparing and for the plan: in order
// (the API keeps it), addresses as given.
func approvalString(gs []api.AccessApprovalGroup) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		var who []string
		if len(g.EmailAddresses) > 0 {
			who = append(who, strings.Join(g.EmailAddresses, ","))
		}
		if g.EmailListUUID != "" {
			who = append(who, "list "+strings.ToLower(g.EmailListUUID))
		}
		parts = append(parts, fmt.Sprintf("%d of %s", g.ApprovalsNeeded, strings.Join(who, " and ")))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// sshRules is connection_rules.ssh as the API takes and answers it. v6's
// connection rules have rdp only, so the SSH rules are sent through
// cloudflare.Raw and read from the answer's extra fields.
type sshRules struct {
	Usernames       []string `json:"usernames"`
	AllowEmailAlias *bool    `json:"allow_email_alias"`
}

func sshWant(s Spec) *sshRules {
	if s.ConnectionRules == nil || s.ConnectionRules.SSH == nil {
		return nil
	}
	alias := s.ConnectionRules.SSH.AllowEmailAlias
	return &sshRules{Usernames: slices.Clone(s.ConnectionRules.SSH.Usernames), AllowEmailAlias: &alias}
}

// sshHave reads the answer's SSH rules; nil when it has none (or none
// that decode, which the next update replaces).
func sshHave(p policy) *sshRules {
	raw := p.ConnectionRules.JSON.ExtraFields["ssh"].Raw()
	var r *sshRules
	if raw == "" || json.Unmarshal([]byte(raw), &r) != nil {
		return nil
	}
	return r
}

func connectionString(c *sshRules) string {
	if c == nil {
		return "none"
	}
	alias := c.AllowEmailAlias != nil && *c.AllowEmailAlias
	return fmt.Sprintf("ssh as [%s] (email alias %t)", strings.Join(c.Usernames, ","), alias)
}

// Get reads one reusable policy; nil, nil when it does not exist.
func (policies) Get(ctx context.Context, a *cfapi.Account, id string) (*policy, error) {
	p, err := cfapi.Get(ctx, "get Access policy "+id, func(ctx context.Context) (*policy, error) {
		return a.V6.ZeroTrust.Access.Policies.Get(ctx, id, zero_trust.AccessPolicyGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || p == nil || *p == nil {
		return nil, err
	}
	return *p, nil
}

// List returns the account's reusable policies named like spec (with no
// application id the API lists the reusable ones, every page of them).
func (policies) List(ctx context.Context, a *cfapi.Account, s Spec) ([]policy, bool, error) {
	all, err := cfapi.ListAccessPolicies(ctx, a)
	if err != nil {
		return nil, false, err
	}
	var out []policy
	for _, l := range all {
		if l.Name != s.Name {
			continue
		}
		p, err := cfapi.AsV6[policy](l.JSON.RawJSON())
		if err != nil {
			return nil, false, err
		}
		out = append(out, p)
	}
	return out, true, nil
}

// ruleList sends a spec's rule list (cfapi.AccessRulesAny) as given, an
// empty one as []: v6's rule parameters are its AccessRule union, and the
// spec's rules are the API's own objects, not built from it. (Variables:
// v6's param.Field type is internal and cannot be named.)
var (
	ruleList  = cf6.Raw[[]zero_trust.AccessRuleUnionParam]
	newSSH    = cf6.Raw[zero_trust.AccessPolicyNewParamsConnectionRules]
	updateSSH = cf6.Raw[zero_trust.AccessPolicyUpdateParamsConnectionRules]
)

// sshParam is connection_rules with the SSH rules, for cloudflare.Raw.
func sshParam(s Spec) any {
	return map[string]*sshRules{"ssh": sshWant(s)}
}

func session(s Spec) string {
	if s.SessionDuration == "" {
		return DefaultSessionDuration
	}
	return s.SessionDuration
}

// Create sends the whole policy; an update sends the same (the API's PUT
// replaces the policy). connection_rules and the prompt are sent only
// when set, as v0 did.
func (policies) Create(ctx context.Context, a *cfapi.Account, s Spec, _ string) (policy, error) {
	params := zero_trust.AccessPolicyNewParams{
		AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Decision: cf6.F(zero_trust.Decision(s.Decision)),
		Include: ruleList(cfapi.AccessRulesAny(s.Include)), Exclude: ruleList(cfapi.AccessRulesAny(s.Exclude)),
		Require:         ruleList(cfapi.AccessRulesAny(s.Require)),
		SessionDuration: cf6.F(session(s)), IsolationRequired: cf6.F(s.IsolationRequired),
		PurposeJustificationRequired: cf6.F(s.PurposeJustificationRequired), ApprovalRequired: cf6.F(s.ApprovalRequired),
		ApprovalGroups: cf6.F(approvalGroups(s)),
	}
	if s.PurposeJustificationPrompt != "" {
		params.PurposeJustificationPrompt = cf6.F(s.PurposeJustificationPrompt)
	}
	if sshWant(s) != nil {
		params.ConnectionRules = newSSH(sshParam(s))
	}
	var p policy
	err := cfapi.Call(ctx, "create Access policy "+s.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.Policies.New(ctx, params)
		if err != nil || res == nil {
			return err
		}
		p, err = cfapi.AsV6[policy](res.JSON.RawJSON())
		return err
	})
	return p, err
}

// Update replaces the policy (the API's PUT) with what Create sends.
func (policies) Update(ctx context.Context, a *cfapi.Account, old policy, s Spec, _ string) (policy, error) {
	params := zero_trust.AccessPolicyUpdateParams{
		AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Decision: cf6.F(zero_trust.Decision(s.Decision)),
		Include: ruleList(cfapi.AccessRulesAny(s.Include)), Exclude: ruleList(cfapi.AccessRulesAny(s.Exclude)),
		Require:         ruleList(cfapi.AccessRulesAny(s.Require)),
		SessionDuration: cf6.F(session(s)), IsolationRequired: cf6.F(s.IsolationRequired),
		PurposeJustificationRequired: cf6.F(s.PurposeJustificationRequired), ApprovalRequired: cf6.F(s.ApprovalRequired),
		ApprovalGroups: cf6.F(approvalGroups(s)),
	}
	if s.PurposeJustificationPrompt != "" {
		params.PurposeJustificationPrompt = cf6.F(s.PurposeJustificationPrompt)
	}
	if sshWant(s) != nil {
		params.ConnectionRules = updateSSH(sshParam(s))
	}
	var p policy
	err := cfapi.Call(ctx, "update Access policy "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.Policies.Update(ctx, old.ID, params)
		if err != nil || res == nil {
			return err
		}
		p, err = cfapi.AsV6[policy](res.JSON.RawJSON())
		return err
	})
	return p, err
}

// Delete removes the policy; one already gone is done. The API refuses to
// delete a policy that applications still use. That changes without a
// new fragment (the applications' own targets drop it or are deleted
// too), so it is retried, not held. An application can drop it between
// the refusal and the list of applications (their targets flush at the
// same time when both go): then no application lists it, and the delete
// is tried once more before the refusal counts.
func (policies) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	del := func() error {
		return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access policy "+id, func(ctx context.Context) error {
			_, err := a.V6.ZeroTrust.Access.Policies.Delete(ctx, id, zero_trust.AccessPolicyDeleteParams{AccountID: cf6.F(a.ID)})
			return err
		}))
	}
	err := del()
	if cfapi.StatusOf(err) != http.StatusBadRequest {
		return err
	}
	apps, lerr := cfapi.AppsUsingPolicy(ctx, a, id)
	switch {
	case lerr != nil:
		return lerr
	case len(apps) == 0:
		return del()
	}
	// %v, not %w: the API's 400 is permanent, this wait is not.
	return fmt.Errorf("Access policy %s is still used by %d application(s) (%s); waiting for them to drop it (%v)", id, len(apps), strings.Join(apps, ", "), err)
}
