package translate

import (
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// CloudflareCredentialsStatus checks a CloudflareCredentials, which is not a
// source of fragments (the objects naming it carry its Secret reference):
// Problems when its Secret or the token's key is missing, when it holds a
// global API key (authType globalAPIKey, not supported), or when it is one
// of several marked isDefault (cloudflare-operator puts every such one in
// state Error too). Status has "validated" (the Secret and key exist) and
// "accountName". Unlike cloudflare-operator, conflux-sync does not call
// Cloudflare to validate the token here: the first sync using it does.
func CloudflareCredentialsStatus(c *v1alpha2.CloudflareCredentials, l Lookup, o Options) Result {
	var ps problems
	s := &c.Spec
	if s.AccountID == "" {
		ps.add("spec.accountId", "is required")
	} else if !accountRE.MatchString(s.AccountID) {
		ps.add("spec.accountId", "must be a Cloudflare account id (letters, digits, - and _), not %q", s.AccountID)
	}
	validated := false
	switch s.AuthType {
	case "", "apiToken":
		ref := credentialsSecret(c, o)
		ns, key := ref.Namespace, ref.Key
		keys, ok := l.SecretKeys(ns, s.SecretRef.Name)
		switch {
		case s.SecretRef.Name == "":
			ps.add("spec.secretRef.name", "is required: the Secret holding the API token")
		case ns == "":
			ps.add("spec.secretRef.namespace", "is required: conflux-sync has no namespace of its own configured")
		case !ok:
			ps.add("spec.secretRef.name", "Secret %s/%s not found", ns, s.SecretRef.Name)
		case !slices.Contains(keys, key):
			ps.add("spec.secretRef.apiTokenKey", "Secret %s/%s has no key %s", ns, s.SecretRef.Name, key)
		default:
			validated = true
		}
	case "globalAPIKey":
		ps.addUnsupported("spec.authType", "globalAPIKey is not supported: conflux-sync uses API tokens only (authType apiToken); the objects using these credentials are not synced")
	default:
		ps.add("spec.authType", "must be apiToken or globalAPIKey, not %q", s.AuthType)
	}
	if s.IsDefault {
		var names []string
		for _, other := range l.CloudflareCredentialsList() {
			if other != nil && other.Spec.IsDefault {
				names = append(names, other.Name)
			}
		}
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if names = slices.Compact(names); len(names) > 1 {
			ps.add("spec.isDefault", "%d CloudflareCredentials are marked isDefault (%s): the objects that name no credentials are not synced until one is left", len(names), strings.Join(names, ", "))
		}
	}
	return Result{
		Managed:  true,
		Problems: ps,
		Status:   map[string]any{"validated": validated, "accountName": s.AccountName},
	}
}

// zoneSettings are a CloudflareDomain's zone-setting groups, which
// conflux-sync does not manage.
var zoneSettings = []struct {
	field string
	set   func(*v1alpha2.CloudflareDomainSpec) bool
}{
	{"spec.ssl", func(s *v1alpha2.CloudflareDomainSpec) bool { return s.SSL != nil }},
	{"spec.cache", func(s *v1alpha2.CloudflareDomainSpec) bool { return s.Cache != nil }},
	{"spec.security", func(s *v1alpha2.CloudflareDomainSpec) bool { return s.Security != nil }},
	{"spec.performance", func(s *v1alpha2.CloudflareDomainSpec) bool { return s.Performance != nil }},
}

// CloudflareDomainStatus checks a CloudflareDomain, which is not a source
// of fragments: the DNSRecords and class records under it find their zone
// and credentials through it. Problems when its domain is not a zone name
// or its credentialsRef names no CloudflareCredentials; its zone settings
// (ssl, cache, security, performance) are Degraded: conflux-sync does not
// manage zone settings, and says so rather than ignore them. Unlike
// cloudflare-operator, it does not look the zone up here (the first sync
// of a record in it does), so status.zoneId stays as it was.
func CloudflareDomainStatus(d *v1alpha2.CloudflareDomain, l Lookup) Result {
	var ps problems
	s := &d.Spec
	if dom := strings.Trim(s.Domain, "."); !strings.Contains(dom, ".") {
		ps.add("spec.domain", "%q is not a zone name (want e.g. example.com)", s.Domain)
	}
	if ref := s.CredentialsRef; ref != nil && !slices.ContainsFunc(l.CloudflareCredentialsList(), func(c *v1alpha2.CloudflareCredentials) bool {
		return c != nil && c.Name == ref.Name
	}) {
		ps.add("spec.credentialsRef.name", "no CloudflareCredentials %s", ref.Name)
	}
	var degraded []Problem
	for _, z := range zoneSettings {
		if z.set(s) {
			degraded = append(degraded, Problem{Field: z.field, Unsupported: true,
				Reason: "zone settings are not applied: conflux-sync manages records, tunnels, Access applications and routes, not zone settings (keep them in the dashboard or Terraform's cloudflare provider)"})
		}
	}
	return Result{Managed: true, Problems: ps, Degraded: degraded}
}
