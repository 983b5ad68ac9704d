package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// SourceAccessPolicy is the source kind of cloudflare-operator's
// AccessPolicy objects.
const SourceAccessPolicy = "AccessPolicy"

// AccessPolicyTarget names the cloudflare.AccessPolicy target of
// cloudflare-operator's cluster-scoped AccessPolicy name; an
// AccessApplication's reusablePolicyRefs name it.
func AccessPolicyTarget(name string) string { return "AccessPolicy/" + name }

// AccessPolicyObject is cloudflare-operator's AccessPolicy as conflux-sync
// reads it (its CRD keeps the spec as written, so the fields are typed
// here, and a field not known here is refused).
type AccessPolicyObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              AccessPolicySpec `json:"spec"`
	Status            struct {
		PolicyID string `json:"policyId,omitempty"`
	} `json:"status,omitempty"`
}

// AccessPolicySpec is cloudflare-operator's AccessPolicy spec.
type AccessPolicySpec struct {
	Name     string `json:"name,omitempty"`
	Decision string `json:"decision,omitempty"`
	// Precedence orders a policy inside one application. A reusable
	// policy has none of its own (the API ignores it, as it did for
	// cloudflare-operator): an application orders its reusablePolicyRefs.
	Precedence                   int                        `json:"precedence,omitempty"`
	Include                      []v1alpha2.AccessGroupRule `json:"include,omitempty"`
	Exclude                      []v1alpha2.AccessGroupRule `json:"exclude,omitempty"`
	Require                      []v1alpha2.AccessGroupRule `json:"require,omitempty"`
	SessionDuration              string                     `json:"sessionDuration,omitempty"`
	IsolationRequired            *bool                      `json:"isolationRequired,omitempty"`
	PurposeJustificationRequired *bool                      `json:"purposeJustificationRequired,omitempty"`
	PurposeJustificationPrompt   string                     `json:"purposeJustificationPrompt,omitempty"`
	ApprovalRequired             *bool                      `json:"approvalRequired,omitempty"`
	ApprovalGroups               []AccessApprovalGroup      `json:"approvalGroups,omitempty"`
	Cloudflare                   v1alpha2.CloudflareDetails `json:"cloudflare"`
}

// AccessApprovalGroup is one group of approvers.
type AccessApprovalGroup struct {
	EmailAddresses []string `json:"emailAddresses,omitempty"`
	EmailListUUID  string   `json:"emailListUuid,omitempty"`
	// ApprovalsNeeded defaults to 1 (the CRD's default).
	ApprovalsNeeded int `json:"approvalsNeeded,omitempty"`
}

// accessDecisions are the decisions cloudflare-operator's CRD takes.
var accessDecisions = []string{"allow", "deny", "bypass", "non_identity"}

// AccessPolicy translates an AccessPolicy to the cloudflare.AccessPolicy
// target AccessPolicyTarget(name): every field of it, its rules as the
// API's rule objects (accessRules). The policy cloudflare-operator made
// (status.policyId) is taken over.
func AccessPolicy(p *AccessPolicyObject, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&p.ObjectMeta)}
	s := &p.Spec
	spec := api.AccessPolicySpec{
		Name:                         cmp.Or(s.Name, p.Name),
		Decision:                     cmp.Or(s.Decision, "allow"), // the CRD's default
		SessionDuration:              strings.TrimSpace(s.SessionDuration),
		IsolationRequired:            deref(s.IsolationRequired),
		PurposeJustificationRequired: deref(s.PurposeJustificationRequired),
		PurposeJustificationPrompt:   s.PurposeJustificationPrompt,
		ApprovalRequired:             deref(s.ApprovalRequired),
	}
	if !slices.Contains(accessDecisions, spec.Decision) {
		ps.add("spec.decision", "must be one of %s, not %q", strings.Join(accessDecisions, ", "), spec.Decision)
	}
	if len(s.Include) == 0 {
		ps.add("spec.include", "needs at least one rule")
	}
	spec.Include = accessRules(s.Include, "spec.include", false, l, &ps)
	spec.Exclude = accessRules(s.Exclude, "spec.exclude", false, l, &ps)
	spec.Require = accessRules(s.Require, "spec.require", true, l, &ps)
	if d := spec.SessionDuration; d != "" {
		if v, err := time.ParseDuration(d); err != nil || v < 0 {
			ps.add("spec.sessionDuration", "%q is not a duration such as 24h or 30m", s.SessionDuration)
		}
	}
	if spec.PurposeJustificationPrompt != "" && !spec.PurposeJustificationRequired {
		ps.add("spec.purposeJustificationPrompt", "is shown only with purposeJustificationRequired: true")
	}
	for i, g := range s.ApprovalGroups {
		n := g.ApprovalsNeeded
		if n == 0 {
			n = 1
		}
		if g.EmailListUUID != "" && !uuidRE.MatchString(strings.ToLower(g.EmailListUUID)) {
			ps.add(fmt.Sprintf("spec.approvalGroups[%d].emailListUuid", i), "%q is not an email list id (a UUID)", g.EmailListUUID)
		}
		if len(g.EmailAddresses) == 0 && g.EmailListUUID == "" {
			ps.add(fmt.Sprintf("spec.approvalGroups[%d]", i), "needs emailAddresses or emailListUuid (who approves)")
		}
		spec.ApprovalGroups = append(spec.ApprovalGroups, api.AccessApprovalGroup{
			EmailAddresses: slices.Clone(g.EmailAddresses), EmailListUUID: strings.ToLower(g.EmailListUUID), ApprovalsNeeded: n})
	}
	switch {
	case spec.ApprovalRequired && len(spec.ApprovalGroups) == 0:
		ps.add("spec.approvalGroups", "are required with approvalRequired: true (someone must approve)")
	case !spec.ApprovalRequired && len(spec.ApprovalGroups) > 0:
		ps.add("spec.approvalGroups", "are asked only with approvalRequired: true")
	}

	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	if id := strings.ToLower(strings.TrimSpace(p.Status.PolicyID)); uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	b.add(api.KindAccessPolicy, AccessPolicyTarget(p.Name), spec)
	res := b.result(ps)
	if len(res.Problems) == 0 {
		res.Status = map[string]any{"name": spec.Name, "decision": spec.Decision}
	}
	return res
}

// isTrue is an optional flag's value, absent being false.
// accessPolicyEntry is the spec.policies entry of one of an
// AccessApplication's reusablePolicyRefs: an AccessPolicy object's target
// name (its cloudflare.AccessPolicy target: the application waits for it),
// the id (cloudflareId), or the policy's name in Cloudflare
// (cloudflareName). "" when it does not resolve.
func accessPolicyEntry(ref v1alpha2.ObjectRef, field string, l Lookup, ps *problems) string {
	switch {
	case ref.CloudflareID != "":
		id := strings.ToLower(strings.TrimSpace(ref.CloudflareID))
		if !uuidRE.MatchString(id) {
			ps.add(field+".cloudflareId", "%q is not a policy id (a UUID)", ref.CloudflareID)
			return ""
		}
		return id
	case ref.Name != "":
		if _, ok := l.StatusField("AccessPolicy", "", ref.Name, "policyId"); !ok {
			ps.add(field+".name", "AccessPolicy %s not found", ref.Name)
			return ""
		}
		return AccessPolicyTarget(ref.Name)
	case ref.CloudflareName != "":
		if n := ref.CloudflareName; strings.TrimSpace(n) != n {
			ps.add(field+".cloudflareName", "must not start or end with spaces")
			return ""
		}
		return ref.CloudflareName
	}
	ps.add(field, "one of cloudflareId, name and cloudflareName is required")
	return ""
}
