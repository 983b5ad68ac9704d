package translate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// accessTypes are the application types the cloudflare.AccessApplication
// kind syncs.
var accessTypes = []string{"self_hosted", "ssh", "vnc", "saas", "bookmark"}

// accessSynced says what of an AccessApplication conflux-sync syncs.
const accessSynced = "conflux-sync syncs every field but policies, reusableGroupRefs, domainType, privateAddress, gatewayRules, scimConfig, appLauncherCustomization and targetContexts"

// AccessApplication translates an AccessApplication to the target
// "AccessApplication/<namespace>/<name>". An application that sets a field
// conflux-sync does not sync yet is not synced at all (the field may be
// what keeps people out), and each such field is a Problem. The
// status.applicationId cloudflare-operator recorded is the evidence to take
// its application over.
func AccessApplication(a *v1alpha2.AccessApplication, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&a.ObjectMeta)}
	s := &a.Spec
	spec := api.AccessApplicationSpec{
		Name:                   s.Name,
		Domain:                 strings.TrimSpace(s.Domain),
		Type:                   s.Type,
		SessionDuration:        s.SessionDuration,
		AutoRedirectToIdentity: s.AutoRedirectToIdentity,
		AppLauncherVisible:     cloneBool(s.AppLauncherVisible),
		Adopt:                  s.Adopt || s.ID != "",
		ID:                     strings.ToLower(s.ID),
	}
	if spec.Name == "" {
		spec.Name = a.Name
	}
	if spec.Type != "" && !slices.Contains(accessTypes, spec.Type) {
		ps.addUnsupported("spec.type", "%s applications are not synced (conflux-sync syncs self_hosted, ssh, vnc, saas and bookmark applications)", spec.Type)
	}

	idps := slices.Clone(s.AllowedIdps)
	for i, ref := range s.IdentityProviderRefs {
		if id := accessRef(ref, fmt.Sprintf("spec.identityProviderRefs[%d]", i), "AccessIdentityProvider", "providerId", "identity provider", "identity providers", l, &ps); id != "" {
			idps = append(idps, id)
		}
	}
	if len(idps) > 0 {
		spec.AllowedIdps = slices.Compact(slices.Sorted(slices.Values(idps)))
	}
	if spec.AutoRedirectToIdentity && len(spec.AllowedIdps) != 1 {
		ps.add("spec.autoRedirectToIdentity", "needs exactly one identity provider (allowedIdps and identityProviderRefs), not %d", len(spec.AllowedIdps))
	}

	// The policies go in list order, as cloudflare-operator sends them;
	// like it, conflux-sync ignores reusablePolicyRefs[].precedence. An
	// AccessPolicy object is named by its target (accessPolicyEntry).
	for i, ref := range s.ReusablePolicyRefs {
		entry := accessPolicyEntry(ref.ObjectRef, fmt.Sprintf("spec.reusablePolicyRefs[%d]", i), l, &ps)
		switch {
		case entry == "":
		case slices.Contains(spec.Policies, entry):
			ps.add("spec.reusablePolicyRefs", "lists %s twice", entry)
		default:
			spec.Policies = append(spec.Policies, entry)
		}
	}
	if len(s.Tags) > 0 {
		spec.Tags = slices.Compact(slices.Sorted(slices.Values(s.Tags)))
	}
	accessSettings(s, &spec, l, &ps)
	unsupportedAccessFields(s, &ps)

	// The application cloudflare-operator made (or adopted by name, which
	// conflux-sync does not do) is owned as if conflux-sync had made it;
	// an explicit id adopts instead (the kind takes one or the other).
	if spec.ID == "" {
		if id := strings.ToLower(strings.TrimSpace(a.Status.ApplicationID)); id != "" && accountRE.MatchString(id) {
			spec.TakeOver = id
		}
	}
	c := credentials(&s.Cloudflare, a.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindAccessApplication, "AccessApplication/"+a.Namespace+"/"+a.Name, spec)
	res := b.result(ps)
	if len(res.Problems) == 0 && spec.Domain != "" {
		host, _, _ := strings.Cut(spec.Domain, "/")
		res.Hostnames = []string{strings.ToLower(host)}
		res.Status = map[string]any{"domain": spec.Domain}
	}
	return res
}

// accessRef resolves a reference to an Access object (an identity
// provider, which conflux-sync syncs, or a policy, which it does not) to
// its id: cloudflareId as written, name through the id recorded in the
// status field of that object of kind (by conflux-sync, or by
// cloudflare-operator); a lookup by Cloudflare name (cloudflareName) is
// not supported yet. "" when it does not resolve.
func accessRef(ref v1alpha2.ObjectRef, field, kind, statusField, what, whats string, l Lookup, ps *problems) string {
	switch {
	case ref.CloudflareID != "":
		return strings.TrimSpace(ref.CloudflareID)
	case ref.Name != "":
		id, ok := l.StatusField(kind, "", ref.Name, statusField)
		switch {
		case !ok:
			ps.add(field+".name", "%s %s not found: conflux-sync reads the %s id cloudflare-operator recorded in its status.%s (it does not sync %s yet); give the id as cloudflareId", kind, ref.Name, what, statusField, whats)
		case strings.TrimSpace(id) == "" && kind == "AccessIdentityProvider":
			// conflux-sync syncs identity providers: the id appears once it
			// has, and this object is translated again then.
			ps.add(field+".name", "%s %s has no status.%s yet: conflux-sync records it there once it has synced the %s (see that object's status); the application follows then", kind, ref.Name, statusField, what)
		case strings.TrimSpace(id) == "":
			ps.addUnsupported(field+".name", "%s %s has no status.%s: cloudflare-operator never recorded an id for it, and conflux-sync does not sync %s yet; give the id as cloudflareId", kind, ref.Name, statusField, whats)
		}
		return strings.TrimSpace(id)
	case ref.CloudflareName != "":
		ps.addUnsupported(field+".cloudflareName", "finding the %s by its Cloudflare name is not supported yet: give its id as cloudflareId, or name the %s object", what, kind)
	default:
		ps.add(field, "one of cloudflareId, name and cloudflareName is required")
	}
	return ""
}

// unsupportedAccessFields reports every field set that conflux-sync does
// not sync, with why.
func unsupportedAccessFields(s *v1alpha2.AccessApplicationSpec, ps *problems) {
	const ignoredToo = "; cloudflare-operator ignored them too (the application it made has none of them)"
	for _, f := range []struct {
		field string
		set   bool
		extra string
	}{
		{"spec.policies", len(s.Policies) > 0, ignoredToo + ": name reusable policies by id in reusablePolicyRefs (inline policies are not synced: cloudflare-go v0.119, which conflux-sync uses, links policies to an application by id only)"},
		{"spec.reusableGroupRefs", len(s.ReusableGroupRefs) > 0, ignoredToo},
		{"spec.domainType", s.DomainType != "", "; the API replaced it by destinations: give destinations[].type"},
		{"spec.privateAddress", s.PrivateAddress != "", "; the API replaced it by destinations: give a private destination (cidr or hostname)"},
		{"spec.gatewayRules", len(s.GatewayRules) > 0, ""},
		{"spec.scimConfig", s.ScimConfig != nil, "; its authentication holds credentials, which conflux-sync cannot take from a Secret for it yet"},
		{"spec.appLauncherCustomization", s.AppLauncherCustomization != nil, "; it belongs to the app_launcher application, which conflux-sync does not sync"},
		{"spec.targetContexts", len(s.TargetContexts) > 0, "; it belongs to infrastructure applications, which conflux-sync does not sync"},
	} {
		if f.set {
			name := f.field[len("spec."):]
			ps.addUnsupported(f.field, "%s is not synced (%s), so the application is not synced while it is set%s", name, accessSynced, f.extra)
		}
	}
}
