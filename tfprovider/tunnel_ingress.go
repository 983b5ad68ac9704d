package tfprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/conflux-sync/conflux-sync/api"
)

// tunnelIngressType is the resource type name, also the namespace of the
// fragment source every instance writes under.
const tunnelIngressType = "conflux_tunnel_ingress"

// maxDurationSeconds keeps seconds*time.Second inside int64: cloudflared
// turns the originRequest durations into time.Duration.
const maxDurationSeconds = math.MaxInt64 / int64(time.Second)

// NewTunnelIngressResource returns the conflux_tunnel_ingress resource: one
// ingress rule contributed to a tunnel's configuration. It exists so that
// Terraform can add a route to a tunnel that Kubernetes Ingresses, Git or
// the admin API also route through, which Cloudflare's own provider cannot
// do (its tunnel configuration resource owns the whole rule list).
func NewTunnelIngressResource() resource.Resource { return &tunnelIngressResource{} }

type tunnelIngressResource struct {
	client *clientData
}

var (
	_ resource.Resource                = (*tunnelIngressResource)(nil)
	_ resource.ResourceWithConfigure   = (*tunnelIngressResource)(nil)
	_ resource.ResourceWithImportState = (*tunnelIngressResource)(nil)
)

type tunnelIngressModel struct {
	ID            types.String `tfsdk:"id"`
	Tunnel        types.String `tfsdk:"tunnel"`
	Hostname      types.String `tfsdk:"hostname"`
	Path          types.String `tfsdk:"path"`
	Service       types.String `tfsdk:"service"`
	OriginRequest types.Object `tfsdk:"origin_request"`
}

// originRequestModel mirrors the scalar fields of api.OriginRequest.
// ipRules and access are left out: they are rarely set per rule, and a
// nested list inside an optional block makes plans hard to read.
type originRequestModel struct {
	ConnectTimeout         types.Int64  `tfsdk:"connect_timeout"`
	TLSTimeout             types.Int64  `tfsdk:"tls_timeout"`
	TCPKeepAlive           types.Int64  `tfsdk:"tcp_keep_alive"`
	KeepAliveTimeout       types.Int64  `tfsdk:"keep_alive_timeout"`
	KeepAliveConnections   types.Int64  `tfsdk:"keep_alive_connections"`
	NoHappyEyeballs        types.Bool   `tfsdk:"no_happy_eyeballs"`
	HTTPHostHeader         types.String `tfsdk:"http_host_header"`
	OriginServerName       types.String `tfsdk:"origin_server_name"`
	MatchSNIToHost         types.Bool   `tfsdk:"match_sni_to_host"`
	CAPool                 types.String `tfsdk:"ca_pool"`
	NoTLSVerify            types.Bool   `tfsdk:"no_tls_verify"`
	DisableChunkedEncoding types.Bool   `tfsdk:"disable_chunked_encoding"`
	BastionMode            types.Bool   `tfsdk:"bastion_mode"`
	ProxyAddress           types.String `tfsdk:"proxy_address"`
	ProxyPort              types.Int64  `tfsdk:"proxy_port"`
	ProxyType              types.String `tfsdk:"proxy_type"`
	HTTP2Origin            types.Bool   `tfsdk:"http2_origin"`
}

var originRequestAttrTypes = map[string]attr.Type{
	"connect_timeout":          types.Int64Type,
	"tls_timeout":              types.Int64Type,
	"tcp_keep_alive":           types.Int64Type,
	"keep_alive_timeout":       types.Int64Type,
	"keep_alive_connections":   types.Int64Type,
	"no_happy_eyeballs":        types.BoolType,
	"http_host_header":         types.StringType,
	"origin_server_name":       types.StringType,
	"match_sni_to_host":        types.BoolType,
	"ca_pool":                  types.StringType,
	"no_tls_verify":            types.BoolType,
	"disable_chunked_encoding": types.BoolType,
	"bastion_mode":             types.BoolType,
	"proxy_address":            types.StringType,
	"proxy_port":               types.Int64Type,
	"proxy_type":               types.StringType,
	"http2_origin":             types.BoolType,
}

func (r *tunnelIngressResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tunnel_ingress"
}

func (r *tunnelIngressResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	seconds := func(what string) schema.Int64Attribute {
		return schema.Int64Attribute{
			Optional:    true,
			Description: what + ", in **whole seconds** (`10`, not `\"10s\"`): the Cloudflare API stores integers of seconds.",
			Validators:  []validator.Int64{int64validator.Between(0, maxDurationSeconds)},
		}
	}
	optBool := func(d string) schema.BoolAttribute { return schema.BoolAttribute{Optional: true, Description: d} }
	optString := func(d string) schema.StringAttribute { return schema.StringAttribute{Optional: true, Description: d} }
	resp.Schema = schema.Schema{
		Description: "One ingress rule of a Cloudflare tunnel, contributed as a fragment of source Terraform/conflux_tunnel_ingress/<id> " +
			"to the tunnel's cloudflare.TunnelConfiguration target. conflux-sync merges it with the rules of every other source " +
			"(Kubernetes Ingresses, Git, the admin API) and writes the whole configuration to Cloudflare, so Terraform and Kubernetes share one tunnel. " +
			"A hostname and path another source already routes is refused.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "`tunnel|hostname|path` (path empty when unset): the name of the fragment's source and the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"tunnel": schema.StringAttribute{
				Required: true,
				Description: "Name of the tunnel's `cloudflare.Tunnel` target, e.g. `\"ClusterTunnel/edge\"`: the rule is added to the " +
					"`cloudflare.TunnelConfiguration` target of that name. The tunnel must exist (else *Unknown tunnel*). No spaces, no `|`. Changing it replaces the rule.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{tunnelNameValidator},
			},
			"hostname": schema.StringAttribute{
				Required: true,
				Description: "The DNS name the rule matches, exact (`api.example.com`) or a wildcard (`*.example.com`, one `*`, only as the first label); " +
					"no port; international names in Unicode or punycode. A name cloudflared accepts but no request can match (a trailing dot, `_`, an empty label) plans with a warning. " +
					"A rule for every host (`*` or empty) is not supported. " +
					"Changing it replaces the rule.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{hostnameValidator},
			},
			"path": schema.StringAttribute{
				Optional: true,
				Description: "A Go RE2 regular expression matched against the request path, as cloudflared takes it (`^/api`, `\\.js$`; a regular expression, not a glob: `.*`, not `*`). " +
					"Unset matches every path. No whitespace (write `\\s`): it is part of the id. Changing it replaces the rule.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1), pathRegexValidator},
			},
			"service": schema.StringAttribute{
				Required: true,
				Description: "Where cloudflared sends matching requests: a URL with a scheme and host and no path (`http://app:80`, `https://app:443`, `tcp://db:5432`, `ssh://host:22`, `rdp://host:3389`), " +
					"`unix:/path/to.sock`, `unix+tls:/path`, `http_status:NNN` (100–999), `hello_world` (or `hello-world`), `bastion` or `socks-proxy`. Changes in place.",
				Validators: []validator.String{serviceValidator},
			},
		},
		Blocks: map[string]schema.Block{
			"origin_request": schema.SingleNestedBlock{
				Description: "How cloudflared connects to the service (the rule's `originRequest`); overrides the tunnel-wide defaults. Every field is optional, and `false`, `0` and `\"\"` are real values, distinct from unset. " +
					"The `ipRules` and `access` fields are not exposed; a rule needing them belongs in another source. Changes in place.",
				Attributes: map[string]schema.Attribute{
					"connect_timeout":          seconds("Timeout for establishing a connection to the origin"),
					"tls_timeout":              seconds("Timeout for the TLS handshake with the origin"),
					"tcp_keep_alive":           seconds("TCP keep-alive interval of the connection to the origin"),
					"keep_alive_timeout":       seconds("How long an idle keep-alive connection to the origin stays open"),
					"keep_alive_connections":   schema.Int64Attribute{Optional: true, Description: "Maximum number of idle keep-alive connections to the origin.", Validators: []validator.Int64{int64validator.AtLeast(0)}},
					"no_happy_eyeballs":        optBool("Disable the happy-eyeballs IPv4/IPv6 fallback."),
					"http_host_header":         optString("Host header sent to the origin."),
					"origin_server_name":       optString("Hostname expected on the origin's certificate."),
					"match_sni_to_host":        optBool("Use the request's Host as SNI and as the name checked on the origin's certificate."),
					"ca_pool":                  optString("Path, on the cloudflared host, of the CA bundle for the origin's certificate."),
					"no_tls_verify":            optBool("Skip verifying the origin's certificate."),
					"disable_chunked_encoding": optBool("Disable chunked transfer encoding to the origin (WSGI servers)."),
					"bastion_mode":             optBool("Run the rule as a bastion: the client chooses the destination."),
					"proxy_address":            optString("Listen address of cloudflared's proxy for this rule."),
					"proxy_port":               schema.Int64Attribute{Optional: true, Description: "Listen port of cloudflared's proxy; 0 picks one.", Validators: []validator.Int64{int64validator.Between(0, 65535)}},
					"proxy_type":               schema.StringAttribute{Optional: true, Description: "`\"\"` for a plain proxy or `\"socks\"`.", Validators: []validator.String{stringvalidator.OneOf("", "socks")}},
					"http2_origin":             optBool("Speak HTTP/2 to the origin."),
				},
			},
		},
	}
}

func (r *tunnelIngressResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ingressID joins the parts of the id. The hostname cannot contain "|"
// and the tunnel is validated not to, so splitting at the first two
// separators gives the parts back even when the path regex has "|" in it.
func ingressID(tunnel, hostname, path string) string {
	return tunnel + "|" + hostname + "|" + path
}

func parseIngressID(id string) (tunnel, hostname, path string, err error) {
	parts := strings.SplitN(id, "|", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("id %q is not tunnel|hostname|path (path may be empty: \"ClusterTunnel/edge|api.example.com|\")", id)
	}
	return parts[0], parts[1], parts[2], nil
}

func configTarget(tunnel string) api.TargetRef {
	return api.TargetRef{Kind: api.KindTunnelConfiguration, Name: tunnel}
}

// ruleKey is how the aggregate decides that two rules route the same
// requests: hostname case-insensitive with "*" meaning any host, path
// compared as written but for the spellings of "any path".
func ruleKey(hostname, path string) string {
	h := strings.ToLower(hostname)
	if h == "*" {
		h = ""
	}
	// Spellings of "any path" conflict like one path (api.MatchPath).
	return h + " " + api.MatchPath(path)
}

// ruleFromModel builds the one rule the fragment carries.
func ruleFromModel(ctx context.Context, m *tunnelIngressModel, diags *diag.Diagnostics) api.TunnelRule {
	rule := api.TunnelRule{Hostname: m.Hostname.ValueString(), Path: m.Path.ValueString(), Service: m.Service.ValueString()}
	if m.OriginRequest.IsNull() || m.OriginRequest.IsUnknown() {
		return rule
	}
	var or originRequestModel
	diags.Append(m.OriginRequest.As(ctx, &or, objectAsOptions)...)
	o := &api.OriginRequest{
		ConnectTimeout:         or.ConnectTimeout.ValueInt64Pointer(),
		TLSTimeout:             or.TLSTimeout.ValueInt64Pointer(),
		TCPKeepAlive:           or.TCPKeepAlive.ValueInt64Pointer(),
		KeepAliveTimeout:       or.KeepAliveTimeout.ValueInt64Pointer(),
		KeepAliveConnections:   or.KeepAliveConnections.ValueInt64Pointer(),
		NoHappyEyeballs:        or.NoHappyEyeballs.ValueBoolPointer(),
		HTTPHostHeader:         or.HTTPHostHeader.ValueStringPointer(),
		OriginServerName:       or.OriginServerName.ValueStringPointer(),
		MatchSNIToHost:         or.MatchSNIToHost.ValueBoolPointer(),
		CAPool:                 or.CAPool.ValueStringPointer(),
		NoTLSVerify:            or.NoTLSVerify.ValueBoolPointer(),
		DisableChunkedEncoding: or.DisableChunkedEncoding.ValueBoolPointer(),
		BastionMode:            or.BastionMode.ValueBoolPointer(),
		ProxyAddress:           or.ProxyAddress.ValueStringPointer(),
		ProxyPort:              or.ProxyPort.ValueInt64Pointer(),
		ProxyType:              or.ProxyType.ValueStringPointer(),
		HTTP2Origin:            or.HTTP2Origin.ValueBoolPointer(),
	}
	if !o.IsZero() {
		rule.OriginRequest = o
	}
	return rule
}

// objectAsOptions are As's defaults: the block's attributes are all
// known in a plan (none is computed).
var objectAsOptions = basetypes.ObjectAsOptions{}

// originRequestValue turns a fragment's originRequest into the block's
// value. An empty one means the same as none on the wire, so it keeps
// prior (null, or a block with every field unset) to avoid a diff the
// user cannot resolve.
func originRequestValue(o *api.OriginRequest, prior types.Object, diags *diag.Diagnostics) types.Object {
	if o.IsZero() {
		if !prior.IsNull() && !prior.IsUnknown() && objectAllNull(prior) {
			return prior
		}
		return types.ObjectNull(originRequestAttrTypes)
	}
	v, d := types.ObjectValue(originRequestAttrTypes, map[string]attr.Value{
		"connect_timeout":          types.Int64PointerValue(o.ConnectTimeout),
		"tls_timeout":              types.Int64PointerValue(o.TLSTimeout),
		"tcp_keep_alive":           types.Int64PointerValue(o.TCPKeepAlive),
		"keep_alive_timeout":       types.Int64PointerValue(o.KeepAliveTimeout),
		"keep_alive_connections":   types.Int64PointerValue(o.KeepAliveConnections),
		"no_happy_eyeballs":        types.BoolPointerValue(o.NoHappyEyeballs),
		"http_host_header":         types.StringPointerValue(o.HTTPHostHeader),
		"origin_server_name":       types.StringPointerValue(o.OriginServerName),
		"match_sni_to_host":        types.BoolPointerValue(o.MatchSNIToHost),
		"ca_pool":                  types.StringPointerValue(o.CAPool),
		"no_tls_verify":            types.BoolPointerValue(o.NoTLSVerify),
		"disable_chunked_encoding": types.BoolPointerValue(o.DisableChunkedEncoding),
		"bastion_mode":             types.BoolPointerValue(o.BastionMode),
		"proxy_address":            types.StringPointerValue(o.ProxyAddress),
		"proxy_port":               types.Int64PointerValue(o.ProxyPort),
		"proxy_type":               types.StringPointerValue(o.ProxyType),
		"http2_origin":             types.BoolPointerValue(o.HTTP2Origin),
	})
	diags.Append(d...)
	return v
}

func objectAllNull(o types.Object) bool {
	for _, v := range o.Attributes() {
		if !v.IsNull() {
			return false
		}
	}
	return true
}

// fragmentSpec encodes the fragment spec {"rules":[rule]}.
func fragmentSpec(rule api.TunnelRule) json.RawMessage {
	b, _ := json.Marshal(api.TunnelConfigSpec{Rules: []api.TunnelRule{rule}})
	return b
}

// otherOwner returns the source, other than self, whose fragment in t
// already has a rule for key; nil when there is none. A rule of another
// source registered earlier would win the aggregate's conflict and ours
// would be dropped silently, so Create refuses instead.
func otherOwner(t api.Target, self api.SourceRef, key string) *api.SourceRef {
	for i := range t.Fragments {
		f := &t.Fragments[i]
		if f.Source == self {
			continue
		}
		var spec api.TunnelConfigSpec
		if err := json.Unmarshal(f.Spec, &spec); err != nil {
			continue // the server validated it; an unreadable spec cannot hold our rule
		}
		for _, r := range spec.Rules {
			if ruleKey(r.Hostname, r.Path) == key {
				return &f.Source
			}
		}
	}
	return nil
}

// Create refuses a hostname and path another source already routes,
// writes the one-rule fragment and waits for Cloudflare; whatever keeps the
// rule from taking effect removes the fragment again, so a failed apply
// leaves the tunnel as it was.
func (r *tunnelIngressResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tunnelIngressModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client.api
	id := ingressID(plan.Tunnel.ValueString(), plan.Hostname.ValueString(), plan.Path.ValueString())
	if len(id) > api.MaxNameLen {
		resp.Diagnostics.AddAttributeError(path.Root("path"), "Rule id too long",
			fmt.Sprintf("tunnel|hostname|path is %d bytes; it names the fragment's source, which may have at most %d. Shorten path or tunnel.", len(id), api.MaxNameLen))
		return
	}
	target := configTarget(plan.Tunnel.ValueString())
	src := source(tunnelIngressType, id)
	key := ruleKey(plan.Hostname.ValueString(), plan.Path.ValueString())

	// Without its cloudflare.Tunnel target the configuration has nowhere
	// to go: the leader would retry "tunnel not created yet" until the
	// write's wait ran out, so refuse before writing.
	tunnelRef := api.TargetRef{Kind: api.KindTunnel, Name: plan.Tunnel.ValueString()}
	if _, found, err := getTarget(ctx, c, tunnelRef); err != nil {
		addAPIError(&resp.Diagnostics, path.Root("tunnel"), "Cannot read the tunnel", err)
		return
	} else if !found {
		resp.Diagnostics.AddAttributeError(path.Root("tunnel"), "Unknown tunnel",
			fmt.Sprintf("there is no cloudflare.Tunnel target %q: declare the tunnel first (a ClusterTunnel or Tunnel in Kubernetes, a Git fragment, or the admin API). Nothing was written.",
				plan.Tunnel.ValueString()))
		return
	}
	t, _, err := getTarget(ctx, c, target)
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("tunnel"), "Cannot read the tunnel configuration", err)
		return
	}
	if owner := otherOwner(t, src, key); owner != nil {
		resp.Diagnostics.AddAttributeError(path.Root("hostname"), "Hostname and path already routed",
			fmt.Sprintf("%s already has a rule for hostname %q path %q in %s; it was registered first and would win, so this rule would never be used. "+
				"Remove the rule there, or choose another hostname or path. Nothing was written.",
				owner, plan.Hostname.ValueString(), plan.Path.ValueString(), target))
		return
	}

	rule := ruleFromModel(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	frag := api.Fragment{Target: target, Source: src, Generation: generation(), Spec: fragmentSpec(rule)}
	res, err := c.PutFragment(ctx, frag, api.Wait(writeWait))
	if err != nil {
		if api.IsCode(err, api.CodeWaitTimeout) {
			// The leader is still retrying. If it is retrying an error,
			// treat that like a sync error; if it is merely slow, keep the
			// rule in state (Terraform taints it) so it is not orphaned.
			if st, found, gerr := getTarget(ctx, c, target); gerr == nil && found && st.Status != nil && st.Status.Error != "" {
				r.undo(ctx, target, src, &resp.Diagnostics)
				resp.Diagnostics.AddAttributeError(path.Root("tunnel"), "Cloudflare did not take the tunnel configuration",
					fmt.Sprintf("syncing %s still failed after %s: %s. The rule was removed again.", target, writeWait, st.Status.Error))
				return
			}
			plan.ID = types.StringValue(id)
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		}
		addAPIError(&resp.Diagnostics, path.Root("service"), "Cannot write the ingress rule", err)
		return
	}
	if res.Stale {
		resp.Diagnostics.AddError("Ingress rule fragment is newer",
			fmt.Sprintf("the fragment of %s for %s has generation %d, newer than this write's; another writer uses this Terraform source. Remove it (conflux-sync fragments delete) and apply again.",
				src, target, res.StoredGeneration))
		return
	}

	// Someone may have claimed the rule between the check and the write.
	if t, _, err = getTarget(ctx, c, target); err != nil {
		r.undo(ctx, target, src, &resp.Diagnostics)
		addAPIError(&resp.Diagnostics, path.Root("tunnel"), "Cannot read the tunnel configuration after writing", err)
		return
	}
	if reason := conflictOf(t, src); reason != "" {
		r.undo(ctx, target, src, &resp.Diagnostics)
		resp.Diagnostics.AddAttributeError(path.Root("hostname"), "Hostname and path already routed",
			fmt.Sprintf("%s: %s. The rule was removed again.", target, reason))
		return
	}
	if msg := syncError(res, target); msg != "" {
		r.undo(ctx, target, src, &resp.Diagnostics)
		resp.Diagnostics.AddAttributeError(path.Root("tunnel"), "Cloudflare refused the tunnel configuration",
			fmt.Sprintf("syncing %s failed: %s. The rule was removed again, so the tunnel keeps its previous configuration.", target, msg))
		return
	}

	plan.ID = types.StringValue(id)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// undo deletes the fragment a failed Create wrote, so that a rule that
// cannot take effect does not linger in the aggregate (or keep the whole
// tunnel's sync failing).
func (r *tunnelIngressResource) undo(ctx context.Context, target api.TargetRef, src api.SourceRef, diags *diag.Diagnostics) {
	if _, err := r.client.api.DeleteFragment(ctx, target, src, api.Wait(writeWait)); err != nil && !api.IsCode(err, api.CodeNotFound) {
		diags.AddWarning("Cannot remove the ingress rule again",
			fmt.Sprintf("the fragment of %s for %s is still there: %v. Delete it with `conflux-sync fragments delete`.", src, target, err))
	}
}

// Read refreshes from the Terraform fragment only: an out-of-band edit of
// it is drift, while other sources' rules are none of this resource's
// business.
func (r *tunnelIngressResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tunnelIngressModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	tunnel, _, _, err := parseIngressID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid id", err.Error())
		return
	}
	target := configTarget(tunnel)
	src := source(tunnelIngressType, state.ID.ValueString())
	t, found, err := getTarget(ctx, r.client.api, target)
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("tunnel"), "Cannot read the tunnel configuration", err)
		return
	}
	f := (*api.Fragment)(nil)
	if found {
		f = fragmentOf(t, src)
	}
	if f == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	var spec api.TunnelConfigSpec
	if err := json.Unmarshal(f.Spec, &spec); err != nil || len(spec.Rules) == 0 {
		// Edited out of band into something that is not one rule: let the
		// plan recreate it.
		resp.State.RemoveResource(ctx)
		return
	}
	if len(spec.Rules) > 1 {
		resp.Diagnostics.AddWarning("Ingress rule fragment edited out of band",
			fmt.Sprintf("the fragment of %s for %s holds %d rules; this resource manages only the first and the next apply drops the others.", src, target, len(spec.Rules)))
	}
	rule := spec.Rules[0]

	state.Tunnel = types.StringValue(tunnel)
	// Keep the configured spelling when the fragment only differs in case:
	// hostnames are case-insensitive everywhere downstream.
	if state.Hostname.IsNull() || !strings.EqualFold(state.Hostname.ValueString(), rule.Hostname) {
		state.Hostname = types.StringValue(rule.Hostname)
	}
	// path is never "" in a configuration (validated), so "" is unset.
	if rule.Path == "" {
		state.Path = types.StringNull()
	} else {
		state.Path = types.StringValue(rule.Path)
	}
	state.Service = types.StringValue(rule.Service)
	state.OriginRequest = originRequestValue(rule.OriginRequest, state.OriginRequest, &resp.Diagnostics)
	if reason := conflictOf(t, src); reason != "" {
		resp.Diagnostics.AddWarning("Ingress rule not routed",
			fmt.Sprintf("%s: %s. The rule is in conflux-sync but not in Cloudflare until the other source removes its rule.", target, reason))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update rewrites the fragment with a larger generation; only service and
// origin_request can change in place (the rest is the rule's identity).
func (r *tunnelIngressResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior tunnelIngressModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client.api
	target := configTarget(plan.Tunnel.ValueString())
	src := source(tunnelIngressType, prior.ID.ValueString())
	rule := ruleFromModel(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	res, err := c.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: generation(), Spec: fragmentSpec(rule)}, api.Wait(writeWait))
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("service"), "Cannot update the ingress rule", err)
		return
	}
	if res.Stale {
		resp.Diagnostics.AddError("Ingress rule fragment is newer",
			fmt.Sprintf("the fragment of %s for %s has generation %d, newer than this write's; another writer uses this Terraform source.", src, target, res.StoredGeneration))
		return
	}
	if msg := syncError(res, target); msg != "" {
		// Put the previous rule back so the tunnel returns to a
		// configuration Cloudflare accepted; the state stays the prior one.
		old := ruleFromModel(ctx, &prior, &resp.Diagnostics)
		if _, err := c.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: generation(), Spec: fragmentSpec(old)}, api.Wait(writeWait)); err != nil {
			resp.Diagnostics.AddWarning("Cannot restore the previous ingress rule", err.Error())
		}
		resp.Diagnostics.AddAttributeError(path.Root("service"), "Cloudflare refused the tunnel configuration",
			fmt.Sprintf("syncing %s failed: %s. The previous rule was restored.", target, msg))
		return
	}
	if t, _, err := getTarget(ctx, c, target); err == nil {
		if reason := conflictOf(t, src); reason != "" {
			resp.Diagnostics.AddAttributeError(path.Root("hostname"), "Ingress rule not routed", fmt.Sprintf("%s: %s.", target, reason))
		}
	}
	plan.ID = prior.ID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete removes the fragment; the other sources' rules stay in
// Cloudflare.
func (r *tunnelIngressResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tunnelIngressModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	target := configTarget(state.Tunnel.ValueString())
	src := source(tunnelIngressType, state.ID.ValueString())
	res, err := r.client.api.DeleteFragment(ctx, target, src, api.Wait(writeWait))
	var ae *api.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return
	case api.IsCode(err, api.CodeWaitTimeout):
		resp.Diagnostics.AddWarning("Ingress rule removal not yet synced",
			fmt.Sprintf("the rule was removed from %s but Cloudflare was not updated within %s; conflux-sync keeps retrying.", target, writeWait))
		return
	case err != nil:
		addAPIError(&resp.Diagnostics, path.Root("id"), "Cannot delete the ingress rule", err)
		return
	}
	// The rule is gone from conflux-sync either way; failing here would
	// only make Terraform retry a delete that already happened.
	if msg := syncError(res, target); msg != "" {
		resp.Diagnostics.AddWarning("Tunnel configuration not synced",
			fmt.Sprintf("the rule was removed from %s but syncing it failed: %s; conflux-sync keeps retrying.", target, msg))
	}
}

// ImportState adopts the Terraform fragment of an id (tunnel|hostname|path);
// Read then fills service and origin_request from it.
func (r *tunnelIngressResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	tunnel, hostname, p, err := parseIngressID(req.ID)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid import id", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("tunnel"), tunnel)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("hostname"), hostname)...)
	if p != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("path"), p)...)
	}
}

// The validators below run the checks conflux-sync runs on a
// cloudflare.TunnelConfiguration spec (api.CheckRule*, shared with
// sync/tunnel), so a bad value fails at plan time on its attribute instead
// of at apply time.

// stringCheck is a validator from a check that returns why a value is
// wrong ("" when it is right); the diagnostic is on the attribute.
type stringCheck struct {
	summary, description string
	check                func(string) string
	// warn returns why a value check accepted is doubtful, or "": the
	// admin API accepts such a value (cloudflared does) and warns; the
	// plan warns the same. Nil for none.
	warn func(string) string
}

func (v stringCheck) Description(context.Context) string { return v.description }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	value := req.ConfigValue.ValueString()
	if reason := v.check(value); reason != "" {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, reason)
		return
	}
	if v.warn == nil {
		return
	}
	if reason := v.warn(value); reason != "" {
		resp.Diagnostics.AddAttributeWarning(req.Path, "Doubtful value", fmt.Sprintf("%q: %s.", value, reason))
	}
}

var (
	tunnelNameValidator = stringCheck{"Invalid tunnel", "a target name such as ClusterTunnel/edge: no spaces, no \"|\"", checkTunnelName, nil}
	hostnameValidator   = stringCheck{"Invalid hostname", "a DNS hostname, optionally with a leading \"*.\" wildcard", func(h string) string {
		if reason := checkHostname(h); reason != "" {
			return fmt.Sprintf("hostname %q: %s.", h, reason)
		}
		return ""
	}, api.RuleHostnameWarning}
	pathRegexValidator = stringCheck{"Invalid path", "a Go RE2 regular expression without whitespace", checkPathRegex, nil}
	serviceValidator   = stringCheck{"Invalid service", "a cloudflared service: a URL without a path, unix:PATH, http_status:NNN, hello_world, bastion or socks-proxy", func(v string) string {
		if reason := api.CheckRuleService(v); reason != "" {
			return fmt.Sprintf("service %q: %s.", v, reason)
		}
		return ""
	}, api.RuleServiceWarning}
)

// checkTunnelName returns why s cannot name the tunnel target, or "".
func checkTunnelName(s string) string {
	switch {
	case s == "":
		return "tunnel must name a cloudflare.Tunnel target, e.g. \"ClusterTunnel/edge\"."
	case strings.Contains(s, "|"):
		return fmt.Sprintf("tunnel %q contains \"|\", which separates the parts of the resource id.", s)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Sprintf("tunnel %q contains spaces or control characters; target names cannot.", s)
	}
	return ""
}

// checkHostname returns why h is not the hostname of a Terraform rule,
// or "": cloudflared's rules, and a hostname is required (a rule of every
// host would be a catch-all, which only the Tunnel's fallback may be).
func checkHostname(h string) string {
	if h == "" || h == "*" {
		return "a rule needs a hostname here; \"*\" or an empty name would match every host"
	}
	return api.CheckRuleHostname(h)
}

// checkPathRegex returns why p cannot be a rule's path, or "".
func checkPathRegex(p string) string {
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Sprintf("path %q contains whitespace; it is part of the fragment's source name, which cannot. Write \\s or \\x20 instead.", p)
	}
	if reason := api.CheckRulePath(p); reason != "" {
		return fmt.Sprintf("path %q: %s", p, reason)
	}
	return ""
}
