package translate

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// What the cloudflare.Tunnel kind accepts.
var (
	tunnelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	accountRE    = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
)

// Tunnel translates a Tunnel or ClusterTunnel (ref.Kind) of either group:
// its cloudflare.Tunnel fragment and the tunnel-wide settings of its
// cloudflare.TunnelConfiguration. A newTunnel whose status already has a
// tunnel id (the operator conflux-sync replaces created it) takes that
// tunnel over: it is used, and deleted with the object, as the operator
// would have, and nothing is created.
func Tunnel(ref ObjectRef, t *TunnelObject, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&t.Meta)}
	if ref.Kind == v1alpha2.KindClusterTunnel {
		ref.Namespace = ""
	}
	spec := &t.Spec
	target := TunnelTarget(SourceKind(ref.Group, ref.Kind), ref.Namespace, ref.Name)

	ts := api.TunnelSpec{}
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
		if id := strings.ToLower(t.Status.TunnelID); uuidRE.MatchString(id) {
			ts.TakeOver = id
		}
	case spec.ExistingTunnel != nil:
		e := spec.ExistingTunnel
		ts.Adopt = true
		switch {
		case e.ID != "":
			// The operators try the id first; the name is only a label then.
			ts.ID = strings.ToLower(e.ID)
			if !uuidRE.MatchString(ts.ID) {
				ps.add("spec.existingTunnel.id", "%q is not a tunnel id (a UUID)", e.ID)
			}
			ts.Name = fallbackTunnelName(e.Name, t.Meta.Name)
		case e.Name != "":
			ts.Name = e.Name
			checkName("spec.existingTunnel.name", ts.Name)
		default:
			ps.add("spec.existingTunnel", "one of id and name must be set")
		}
	default:
		ps.add("spec", "one of newTunnel and existingTunnel must be set")
	}
	c := credentials(&spec.Cloudflare, secretNamespace(ref.Kind, ref.Namespace, o), "spec.cloudflare", true, l, o, &ps)
	ts.Credentials = c.ref
	ts.AccountID = account(&spec.Cloudflare, c, "spec.cloudflare", &ps)
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
		// The operators' shorthand; originRequest.noTlsVerify: false loses.
		or.NoTLSVerify = ptr(true)
	}
	if spec.OriginCaPool != "" {
		if reason := checkSecretName(spec.OriginCaPool); reason != "" {
			ps.add("spec.originCaPool", "%s", reason)
		} else if or.CAPool == nil {
			// The operators mount this Secret at CertsDir and point the
			// tunnel-wide caPool at its tls.crt.
			or.CAPool = ptr(CAPoolPath("tls.crt"))
		}
	}
	st.OriginRequest = orNil(or)

	b.add(api.KindTunnel, target, ts)
	b.add(api.KindTunnelConfiguration, target, api.TunnelConfigSpec{Settings: st})
	r := b.result(ps)
	r.Tunnel = target
	r.Degraded = deploymentFields(spec)
	return r
}

// deploymentFields reports the fields that configure the operators'
// cloudflared Deployment, which conflux-sync does not run.
func deploymentFields(spec *v1alpha2.TunnelSpec) []Problem {
	const why = "configures cloudflare-operator's cloudflared Deployment; conflux-sync writes the tunnel's configuration and does not run cloudflared (keep your cloudflared Deployment, or run one with the token in the Secret <name>-tunnel-token)"
	var out []Problem
	add := func(field string, set bool) {
		if set {
			out = append(out, Problem{Field: field, Reason: why})
		}
	}
	add("spec.size", spec.Size != nil && *spec.Size != 1)
	add("spec.image", spec.Image != "")
	add("spec.nodeSelectors", len(spec.NodeSelectors) > 0)
	add("spec.tolerations", len(spec.Tolerations) > 0)
	add("spec.deployPatch", strings.TrimSpace(spec.DeployPatch) != "" && strings.TrimSpace(spec.DeployPatch) != "{}")
	add("spec.protocol", spec.Protocol != "" && spec.Protocol != "auto")
	return out
}

// fallbackTunnelName makes a name the kind accepts for a tunnel adopted by
// id, where the name is only a label: the existing name if valid, else the
// object's name.
func fallbackTunnelName(names ...string) string {
	for _, name := range names {
		if tunnelNameRE.MatchString(name) {
			return name
		}
	}
	for _, name := range names {
		if len(name) > 63 {
			name = name[:63]
		}
		if tunnelNameRE.MatchString(name) {
			return name
		}
	}
	return "tunnel"
}

// checkFallback returns why s is not a catch-all service cloudflared
// accepts, or "".
func checkFallback(s string) string {
	switch {
	case s == api.ServiceHelloWorld || s == api.ServiceHelloWorldAlias || s == api.ServiceBastion || s == api.ServiceSocksProxy:
	case strings.HasPrefix(s, "http_status:"):
		if code, err := strconv.Atoi(strings.TrimPrefix(s, "http_status:")); err != nil || code < 100 || code > 599 {
			return "http_status needs a status code between 100 and 599, not " + s
		}
	case strings.HasPrefix(s, "unix:") || strings.HasPrefix(s, "unix+tls:"):
	default:
		scheme, rest, ok := strings.Cut(s, "://")
		if !ok || scheme == "" || rest == "" || strings.Contains(rest, "/") {
			return "must be http_status:<code>, hello_world, bastion, socks-proxy, unix:<path> or <scheme>://<host>[:port] without a path, not " + s
		}
	}
	return ""
}
