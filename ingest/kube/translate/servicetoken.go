package translate

import (
	"strings"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// AccessServiceTokenTarget names the cloudflare.AccessServiceToken target
// of an AccessServiceToken: "AccessServiceToken/<namespace>/<name>".
func AccessServiceTokenTarget(namespace, name string) string {
	return "AccessServiceToken/" + namespace + "/" + name
}

// AccessServiceToken translates an AccessServiceToken as cloudflare-
// operator runs it: a token named spec.name (else the object's name) with
// spec.duration, whose client id and secret go to the Secret
// spec.secretRef names in the object's namespace, under the keys
// cloudflare-operator used (CF_ACCESS_CLIENT_ID and
// CF_ACCESS_CLIENT_SECRET unless set), so Deployments reading it keep
// working. The token cloudflare-operator recorded in status.tokenId is
// taken over: its Secret already holds its secret, so nothing is rotated.
func AccessServiceToken(tok *v1alpha2.AccessServiceToken, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&tok.ObjectMeta)}
	s := &tok.Spec
	spec := api.AccessServiceTokenSpec{
		Name:     s.Name,
		Duration: strings.TrimSpace(s.Duration),
		Secret: &api.ServiceTokenSecret{Namespace: tok.Namespace, Name: s.SecretRef.Name,
			ClientIDKey: s.SecretRef.ClientIDKey, ClientSecretKey: s.SecretRef.ClientSecretKey},
	}
	if spec.Name == "" {
		spec.Name = tok.Name
	}
	if spec.Duration != "" && spec.Duration != "forever" {
		if d, err := time.ParseDuration(spec.Duration); err != nil || d <= 0 {
			ps.add("spec.duration", "%q is not a positive duration such as 8760h (units h, m, s), nor forever", s.Duration)
		}
	}
	if s.SecretRef.Name == "" {
		ps.add("spec.secretRef.name", "is required: the client secret is answered only once and must be written somewhere")
	}
	if id := strings.ToLower(strings.TrimSpace(tok.Status.TokenID)); id != "" && uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	c := credentials(&s.Cloudflare, tok.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindAccessServiceToken, AccessServiceTokenTarget(tok.Namespace, tok.Name), spec)
	res := b.result(ps)
	if len(res.Problems) == 0 {
		res.Status = map[string]any{"secretName": tok.Namespace + "/" + s.SecretRef.Name}
	}
	return res
}
