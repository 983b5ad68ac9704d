package gatewayrule

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindGatewayRule

// Spec is a cloudflare.GatewayRule fragment (see api.GatewayRuleSpec).
type Spec = api.GatewayRuleSpec

// Limits: the API's own bounds are not documented; these keep plans,
// status and the marker-carrying description readable.
const (
	maxNameLen     = 255
	maxDescription = 500
	maxExpression  = 10000
	maxRules       = 1000
)

// Actions says which actions each filter takes; a rule has one filter.
var Actions = map[string][]string{
	"dns":          {"allow", "block", "override", "safesearch", "ytrestricted"},
	"http":         {"allow", "block", "on", "off", "scan", "noscan", "isolate", "noisolate"},
	"l4":           {"allow", "block", "audit_ssh", "l4_override"},
	"egress":       {"egress"},
	"dns_resolver": {"resolve"},
}

// Filters are Actions' keys, in the order the docs name them.
var Filters = []string{"dns", "http", "l4", "egress", "dns_resolver"}

// Desired is the target's desired state: the merged rules in their final
// order, each with the precedence it is written with.
type Desired struct {
	AccountID   string         `json:"accountId,omitempty"`
	Credentials *api.SecretRef `json:"credentials,omitempty"`
	Rules       []Rule         `json:"rules"`
}

// Rule is one merged rule, canonical: Enabled resolved, RuleSettings and
// Schedule re-encoded, Precedence the one written.
type Rule struct {
	Name          string          `json:"name"`
	Description   string          `json:"description,omitempty"`
	Action        string          `json:"action"`
	Enabled       bool            `json:"enabled"`
	Filters       []string        `json:"filters"`
	Traffic       string          `json:"traffic,omitempty"`
	Identity      string          `json:"identity,omitempty"`
	DevicePosture string          `json:"devicePosture,omitempty"`
	Precedence    uint64          `json:"precedence"`
	RuleSettings  json.RawMessage `json:"ruleSettings,omitempty"`
	Schedule      json.RawMessage `json:"schedule,omitempty"`
	TakeOver      string          `json:"takeOver,omitempty"`
}

// New returns the Gateway rule kind.
func New() kind.Kind { return gatewayKind{} }

type gatewayKind struct{}

func (gatewayKind) Name() string { return Name }

// Validate decodes spec strictly and checks every rule.
func (gatewayKind) Validate(target api.TargetRef, _ api.SourceRef, spec json.RawMessage) error {
	if target.Kind != Name {
		return &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, Name)}
	}
	var s Spec
	if err := kind.DecodeStrict(spec, &s); err != nil {
		return err
	}
	if fe := validate(&s); fe != nil {
		return fe
	}
	return nil
}

// listRefRE finds list references in an expression: $name or ${name}.
var listRefRE = regexp.MustCompile(`\$\{([^}]*)\}|\$([A-Za-z0-9_.-]+)`)

// listIDRE is a list's id as the API writes it in an expression.
var listIDRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// ListRefs returns the list names (or ids) expr refers to, in order.
func ListRefs(expr string) []string {
	var out []string
	for _, m := range listRefRE.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	switch {
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	case len(s.Rules) > maxRules:
		return &api.FieldError{Field: "spec.rules", Reason: fmt.Sprintf("has more than %d rules", maxRules)}
	}
	names := map[string]int{}
	for i := range s.Rules {
		if fe := validateRule(fmt.Sprintf("spec.rules[%d]", i), &s.Rules[i]); fe != nil {
			return fe
		}
		if j, dup := names[s.Rules[i].Name]; dup {
			return &api.FieldError{Field: fmt.Sprintf("spec.rules[%d].name", i), Reason: fmt.Sprintf("%q is already rules[%d] (a rule's name is how it is found downstream)", s.Rules[i].Name, j)}
		}
		names[s.Rules[i].Name] = i
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

func validateRule(path string, r *api.GatewayRule) *api.FieldError {
	if fe := cfapi.CheckObjectName(path+".name", r.Name, maxNameLen); fe != nil {
		return fe
	}
	if len([]rune(r.Description)) > maxDescription {
		return &api.FieldError{Field: path + ".description", Reason: fmt.Sprintf("is longer than %d characters", maxDescription)}
	}
	if len(r.Filters) != 1 {
		return &api.FieldError{Field: path + ".filters", Reason: fmt.Sprintf("must hold exactly one filter (one of %s), has %d", strings.Join(Filters, ", "), len(r.Filters))}
	}
	f := r.Filters[0]
	actions, ok := Actions[f]
	if !ok {
		return &api.FieldError{Field: path + ".filters[0]", Reason: fmt.Sprintf("%q is not a filter (one of %s)", f, strings.Join(Filters, ", "))}
	}
	if !slices.Contains(actions, r.Action) {
		return &api.FieldError{Field: path + ".action", Reason: fmt.Sprintf("%q is not an action of a %s rule (one of %s)", r.Action, f, strings.Join(actions, ", "))}
	}
	for _, e := range []struct{ field, expr string }{{"traffic", r.Traffic}, {"identity", r.Identity}, {"devicePosture", r.DevicePosture}} {
		if len(e.expr) > maxExpression {
			return &api.FieldError{Field: path + "." + e.field, Reason: fmt.Sprintf("is longer than %d characters", maxExpression)}
		}
		if strings.Count(e.expr, "(") != strings.Count(e.expr, ")") {
			return &api.FieldError{Field: path + "." + e.field, Reason: "has unbalanced parentheses"}
		}
		for _, ref := range ListRefs(e.expr) {
			if ref == "" || strings.TrimSpace(ref) != ref {
				return &api.FieldError{Field: path + "." + e.field, Reason: fmt.Sprintf("list reference ${%s} must name a cloudflare.GatewayList target", ref)}
			}
		}
	}
	if r.TakeOver != "" && !cfapi.IsUUID(r.TakeOver) {
		return &api.FieldError{Field: path + ".takeOver", Reason: fmt.Sprintf("%q is not a Gateway rule id (a UUID)", r.TakeOver)}
	}
	if len(r.RuleSettings) > 0 {
		if _, err := decodeSettings(r.RuleSettings); err != nil {
			return &api.FieldError{Field: path + ".ruleSettings", Reason: err.Error()}
		}
	}
	if len(r.Schedule) > 0 {
		if f != "dns" {
			return &api.FieldError{Field: path + ".schedule", Reason: "is only valid for dns rules (the API's schedule is DNS only)"}
		}
		if _, err := decodeSchedule(r.Schedule); err != nil {
			return &api.FieldError{Field: path + ".schedule", Reason: err.Error()}
		}
	}
	return nil
}

// decodeSettings reads rule_settings as the client knows them: a member
// it does not know would be dropped on the way down, so it is refused.
func decodeSettings(raw json.RawMessage) (cloudflare.TeamsRuleSettings, error) {
	var v cloudflare.TeamsRuleSettings
	return v, decodeKnown(raw, &v)
}

func decodeSchedule(raw json.RawMessage) (cloudflare.TeamsRuleSchedule, error) {
	var v cloudflare.TeamsRuleSchedule
	return v, decodeKnown(raw, &v)
}

func decodeKnown(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// canonicalJSON re-encodes raw through what the client sends, so
// formatting and key order do not count; nil stays nil.
func canonicalJSON(raw json.RawMessage, decode func(json.RawMessage) (any, error)) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	v, err := decode(raw)
	if err != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

func settingsAny(raw json.RawMessage) (any, error) { return decodeSettings(raw) }
func scheduleAny(raw json.RawMessage) (any, error) { return decodeSchedule(raw) }

// fragmentSpec is one decoded fragment in merge order.
type fragmentSpec struct {
	f    *api.Fragment
	spec Spec
}

// Aggregate merges the rules of every fragment (see docs/api.md):
//
//   - Fragments are taken in registration order (lowest CreateIndex, then
//     source key). The first names the account and the credentials; a
//     fragment naming another account or other credentials is a conflict
//     keyed "account", its rules left out.
//   - A rule name given by two fragments is a conflict keyed
//     "rule <name>": the earlier fragment keeps it.
//   - Order: rules with an explicit precedence first, lowest first (ties
//     in fragment order, then position in the fragment); then the others,
//     in fragment order and position.
//   - The precedence written is the rule's own when it is higher than the
//     one before it, else one more than the one before it (the first rule
//     without one gets 1 more than the last placed): the written order is
//     exactly this order, whatever the producers gave.
func (gatewayKind) Aggregate(_ api.TargetRef, fragments []api.Fragment) (kind.Result, error) {
	if len(fragments) == 0 {
		return kind.Result{}, nil
	}
	frags := make([]fragmentSpec, len(fragments))
	for i := range fragments {
		frags[i].f = &fragments[i]
		if err := kind.DecodeStored(fragments[i].Spec, &frags[i].spec); err != nil {
			return kind.Result{}, fmt.Errorf("fragment from %s: %w", fragments[i].Source, err)
		}
	}
	slices.SortFunc(frags, func(a, b fragmentSpec) int {
		return cmp.Or(cmp.Compare(a.f.CreateIndex, b.f.CreateIndex), strings.Compare(a.f.Source.Key(), b.f.Source.Key()))
	})
	first := frags[0]
	out := Desired{AccountID: first.spec.AccountID, Credentials: first.spec.Credentials}
	var conflicts []api.Conflict
	type placed struct {
		rule     api.GatewayRule
		frag     int
		position int
	}
	var rules []placed
	owner := map[string]*api.Fragment{}
	for fi, fs := range frags {
		if fi > 0 && (fs.spec.AccountID != out.AccountID || cfapi.EncodeCredentials(fs.spec.Credentials) != cfapi.EncodeCredentials(out.Credentials)) {
			conflicts = append(conflicts, api.Conflict{Key: "account", Winner: first.f.Source, Loser: fs.f.Source,
				Reason: fmt.Sprintf("%s (registered first) names account %q and credentials %q for these rules; this fragment names %q and %q: its rules are left out",
					first.f.Source, out.AccountID, cfapi.EncodeCredentials(out.Credentials), fs.spec.AccountID, cfapi.EncodeCredentials(fs.spec.Credentials))})
			continue
		}
		for pi, r := range fs.spec.Rules {
			if w, taken := owner[r.Name]; taken {
				conflicts = append(conflicts, api.Conflict{Key: "rule " + r.Name, Winner: w.Source, Loser: fs.f.Source,
					Reason: fmt.Sprintf("%s already defines rule %q (registered at index %d, before index %d)", w.Source, r.Name, w.CreateIndex, fs.f.CreateIndex)})
				continue
			}
			owner[r.Name] = fs.f
			rules = append(rules, placed{rule: r, frag: fi, position: pi})
		}
	}
	slices.SortStableFunc(rules, func(a, b placed) int {
		ap, bp := a.rule.Precedence, b.rule.Precedence
		switch {
		case ap != nil && bp == nil:
			return -1
		case ap == nil && bp != nil:
			return 1
		case ap != nil && bp != nil && *ap != *bp:
			return cmp.Compare(*ap, *bp)
		}
		return cmp.Or(cmp.Compare(a.frag, b.frag), cmp.Compare(a.position, b.position))
	})
	var prev uint64
	out.Rules = make([]Rule, 0, len(rules))
	for _, p := range rules {
		r := p.rule
		prec := prev + 1
		if r.Precedence != nil && *r.Precedence > prev {
			prec = *r.Precedence
		}
		prev = prec
		enabled := r.Enabled == nil || *r.Enabled
		out.Rules = append(out.Rules, Rule{
			Name: r.Name, Description: r.Description, Action: r.Action, Enabled: enabled,
			Filters: slices.Clone(r.Filters), Traffic: r.Traffic, Identity: r.Identity, DevicePosture: r.DevicePosture,
			Precedence: prec, RuleSettings: canonicalJSON(r.RuleSettings, settingsAny), Schedule: canonicalJSON(r.Schedule, scheduleAny),
			TakeOver: strings.ToLower(r.TakeOver),
		})
	}
	desired, err := json.Marshal(out)
	if err != nil {
		return kind.Result{}, err
	}
	return kind.Result{Desired: desired, Conflicts: conflicts}, nil
}
