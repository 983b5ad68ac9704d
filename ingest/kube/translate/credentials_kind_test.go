package translate

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func TestCloudflareCredentialsStatus(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(f *fake, c *v1alpha2.CloudflareCredentials)
		field    string // "" for no problem
		reason   string
		unsupp   bool
		validate bool
	}{
		{name: "valid, Secret in conflux-sync's namespace", edit: func(*fake, *v1alpha2.CloudflareCredentials) {}, validate: true},
		{name: "valid, Secret elsewhere under another key", edit: func(_ *fake, c *v1alpha2.CloudflareCredentials) {
			c.Spec.SecretRef = v1alpha2.CredentialsSecretRef{Name: "zones", Namespace: "infra", APITokenKey: "token"}
		}, validate: true},
		{name: "the only default", edit: func(f *fake, c *v1alpha2.CloudflareCredentials) {
			c.Spec.IsDefault = true
			f.credentials["default"] = c
		}, validate: true},
		{name: "Secret missing", edit: func(_ *fake, c *v1alpha2.CloudflareCredentials) { c.Spec.SecretRef.Name = "gone" },
			field: "spec.secretRef.name", reason: "Secret conflux/gone not found"},
		{name: "key missing", edit: func(_ *fake, c *v1alpha2.CloudflareCredentials) { c.Spec.SecretRef.APITokenKey = "api-token" },
			field: "spec.secretRef.apiTokenKey", reason: "Secret conflux/cf has no key api-token"},
		{name: "global API key", edit: func(_ *fake, c *v1alpha2.CloudflareCredentials) { c.Spec.AuthType = "globalAPIKey" }, unsupp: true,
			field: "spec.authType", reason: "globalAPIKey is not supported: conflux-sync uses API tokens only (authType apiToken); the objects using these credentials are not synced"},
		{name: "bad account id", edit: func(_ *fake, c *v1alpha2.CloudflareCredentials) { c.Spec.AccountID = "<Cloudflare account ID>" }, validate: true,
			field: "spec.accountId", reason: `must be a Cloudflare account id (letters, digits, - and _), not "<Cloudflare account ID>"`},
		{name: "two defaults", edit: func(f *fake, c *v1alpha2.CloudflareCredentials) {
			c.Spec.IsDefault = true
			f.credentials["zones"].Spec.IsDefault = true
		}, validate: true,
			field: "spec.isDefault", reason: "2 CloudflareCredentials are marked isDefault (mine, zones): the objects that name no credentials are not synced until one is left"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecordFake()
			c := &v1alpha2.CloudflareCredentials{ObjectMeta: meta("", "mine", 1), Spec: v1alpha2.CloudflareCredentialsSpec{
				AccountID: acct1, AccountName: "Acme", SecretRef: v1alpha2.CredentialsSecretRef{Name: "cf"}}}
			tc.edit(f, c)
			r := CloudflareCredentialsStatus(c, f, opts)
			if !r.Managed || len(r.Fragments) > 0 || r.Keep {
				t.Fatalf("got %+v", r)
			}
			if want := map[bool]string{true: `{"accountName":"Acme","validated":true}`, false: `{"accountName":"Acme","validated":false}`}[tc.validate]; statusJSON(r) != want {
				t.Errorf("Status = %s, want %s", statusJSON(r), want)
			}
			if tc.field == "" {
				if len(r.Problems) > 0 {
					t.Errorf("problems:\n%s", problemsString(r.Problems))
				}
				return
			}
			if len(r.Problems) != 1 || r.Problems[0] != (Problem{Field: tc.field, Reason: tc.reason, Unsupported: tc.unsupp}) {
				t.Errorf("problems:\n%swant %s: %s (unsupported %v)", problemsString(r.Problems), tc.field, tc.reason, tc.unsupp)
			}
		})
	}
}

func TestCloudflareDomainStatus(t *testing.T) {
	settings := &apiextensionsv1.JSON{Raw: []byte(`{"mode":"strict"}`)}
	cases := []struct {
		name     string
		spec     v1alpha2.CloudflareDomainSpec
		problems string
		degraded string
	}{
		{name: "a zone", spec: v1alpha2.CloudflareDomainSpec{Domain: "example.com", IsDefault: true}},
		{name: "its credentials", spec: v1alpha2.CloudflareDomainSpec{Domain: "example.com", CredentialsRef: &v1alpha2.CredentialsRef{Name: "zones"}}},
		{name: "credentials missing", spec: v1alpha2.CloudflareDomainSpec{Domain: "example.com", CredentialsRef: &v1alpha2.CredentialsRef{Name: "gone"}},
			problems: "spec.credentialsRef.name: no CloudflareCredentials gone\n"},
		{name: "not a zone name", spec: v1alpha2.CloudflareDomainSpec{Domain: "localhost"},
			problems: "spec.domain: \"localhost\" is not a zone name (want e.g. example.com)\n"},
		{name: "zone settings are said not to be applied", spec: v1alpha2.CloudflareDomainSpec{Domain: "example.com", SSL: settings, Performance: settings},
			degraded: "spec.ssl: zone settings are not applied: conflux-sync manages records, tunnels, Access applications and routes, not zone settings (keep them in the dashboard or Terraform's cloudflare provider)\n" +
				"spec.performance: zone settings are not applied: conflux-sync manages records, tunnels, Access applications and routes, not zone settings (keep them in the dashboard or Terraform's cloudflare provider)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &v1alpha2.CloudflareDomain{ObjectMeta: meta("", "example-com", 1), Spec: tc.spec}
			r := CloudflareDomainStatus(d, newRecordFake())
			if !r.Managed || len(r.Fragments) > 0 {
				t.Fatalf("got %+v", r)
			}
			if got := problemsString(r.Problems); got != tc.problems {
				t.Errorf("problems:\n%swant:\n%s", got, tc.problems)
			}
			if got := problemsString(r.Degraded); got != tc.degraded {
				t.Errorf("degraded:\n%swant:\n%s", got, tc.degraded)
			}
		})
	}
}
