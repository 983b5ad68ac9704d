package translate

import (
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// What the cloudflare.Tunnel kind accepts.
var (
	tunnelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	accountRE    = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
)

// Tunnel translates a Tunnel: its cloudflare.Tunnel fragment and the
// tunnel-wide settings of its cloudflare.TunnelConfiguration.
func Tunnel(t *v1alpha2.Tunnel, l Lookup, o Options) Result {
	return tunnel(v1alpha2.KindTunnel, &t.ObjectMeta, &t.Spec, t.Namespace, l, o)
}

// ClusterTunnel translates a ClusterTunnel; its Secret is in o.Namespace.
func ClusterTunnel(t *v1alpha2.ClusterTunnel, l Lookup, o Options) Result {
	return tunnel(v1alpha2.KindClusterTunnel, &t.ObjectMeta, &t.Spec, o.Namespace, l, o)
}

func tunnel(kind string, meta *metav1.ObjectMeta, spec *v1alpha2.TunnelSpec, secretNS string, l Lookup, _ Options) Result {
	var ps problems
	b := &builder{gen: generation(meta)}
	ns := meta.Namespace
	if kind == v1alpha2.KindClusterTunnel {
		ns = ""
	}
	target := TunnelTarget(kind, ns, meta.Name)

	ts := api.TunnelSpec{AccountID: spec.Cloudflare.AccountID}
	if ts.AccountID != "" && !accountRE.MatchString(ts.AccountID) {
		ps.add("spec.cloudflare.accountId", "must be a Cloudflare account id (letters, digits, - and _)")
	}
	checkName := func(field, name string) {
		if !tunnelNameRE.MatchString(name) {
			ps.add(field, "%q is not a tunnel name conflux-sync accepts: 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit", name)
		}
	}
	switch {
	case spec.NewTunnel != nil && spec.ExistingTunnel != nil:
		ps.add("spec", "exactly one of newTunnel and existingTunnel must be set")
	case spec.NewTunnel != nil:
		ts.Name = spec.NewTunnel.Name
		checkName("spec.newTunnel.name", ts.Name)
	case spec.ExistingTunnel != nil:
		e := spec.ExistingTunnel
		ts.Adopt = true
		switch {
		case e.ID != "" && e.Name != "":
			ps.add("spec.existingTunnel", "exactly one of id and name must be set")
		case e.ID != "":
			ts.ID = strings.ToLower(e.ID)
			if !uuidRE.MatchString(ts.ID) {
				ps.add("spec.existingTunnel.id", "%q is not a tunnel id (a UUID)", e.ID)
			}
			// The kind finds the tunnel by id; the name is only a label.
			ts.Name = fallbackTunnelName(meta.Name)
		case e.Name != "":
			ts.Name = e.Name
			checkName("spec.existingTunnel.name", ts.Name)
		default:
			ps.add("spec.existingTunnel", "one of id and name must be set")
		}
	default:
		ps.add("spec", "one of newTunnel and existingTunnel must be set")
	}
	ts.Credentials = credentials(&spec.Cloudflare, secretNS, "spec.cloudflare", l, &ps)
	requireAccount(&spec.Cloudflare, "spec.cloudflare", &ps)
	if d := spec.Cloudflare.Domain; d != "" && !strings.Contains(strings.Trim(d, "."), ".") {
		ps.add("spec.cloudflare.domain", "%q is not a zone name (want e.g. example.com)", d)
	}

	st := &api.TunnelSettings{FallbackTarget: spec.FallbackTarget, WarpRouting: ptr(spec.EnableWarpRouting)}
	if st.FallbackTarget != "" {
		if reason := checkFallback(st.FallbackTarget); reason != "" {
			ps.add("spec.fallbackTarget", "%s", reason)
		}
	}
	or := convertOriginRequest(spec.OriginRequest, "spec.originRequest", &ps)
	if or == nil {
		or = &api.OriginRequest{}
	}
	if spec.NoTLSVerify {
		// The operator's shorthand; originRequest.noTlsVerify: false loses.
		or.NoTLSVerify = ptr(true)
	}
	if spec.OriginCaPool != "" {
		if reason := checkSecretName(spec.OriginCaPool); reason != "" {
			ps.add("spec.originCaPool", "%s", reason)
		} else {
			p := CAPoolPath(spec.OriginCaPool)
			if or.CAPool != nil && *or.CAPool != p {
				ps.add("spec.originCaPool", "conflicts with spec.originRequest.caPool: set one of them")
			}
			or.CAPool = &p
		}
	}
	st.OriginRequest = orNil(or)

	b.add(api.KindTunnel, target, ts)
	b.add(api.KindTunnelConfiguration, target, api.TunnelConfigSpec{Settings: st})
	r := b.result(ps)
	r.Tunnel = target
	return r
}

// fallbackTunnelName makes a name the kind accepts from metadata.name (for a
// tunnel adopted by id, where the name is not used to find it).
func fallbackTunnelName(name string) string {
	if len(name) > 63 {
		name = name[:63]
	}
	if !tunnelNameRE.MatchString(name) {
		return "tunnel"
	}
	return name
}

// checkFallback returns why s is not a catch-all service cloudflared
// accepts, or "".
func checkFallback(s string) string {
	switch {
	case s == "hello_world" || s == "hello-world" || s == "bastion" || s == "socks5":
	case strings.HasPrefix(s, "http_status:"):
	case strings.HasPrefix(s, "unix:") || strings.HasPrefix(s, "unix+tls:"):
	default:
		scheme, rest, ok := strings.Cut(s, "://")
		if !ok || scheme == "" || rest == "" || strings.Contains(rest, "/") {
			return "must be http_status:<code>, hello_world, bastion, socks5, unix:<path> or <scheme>://<host>[:port] without a path, not " + s
		}
	}
	return ""
}
