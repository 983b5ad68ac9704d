// Package tfprovider is the Terraform provider "conflux": resources and
// data sources that turn Terraform's wishes into fragments of source kind
// Terraform through conflux-sync's admin API, so Terraform, Git and
// Kubernetes share Conflux configs and Cloudflare tunnels without
// overwriting each other.
package tfprovider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/conflux-sync/conflux"

// Environment variables the provider falls back to.
const (
	EnvAddr  = "CONFLUX_SYNC_ADDR"
	EnvToken = "CONFLUX_SYNC_TOKEN"
	// EnvTokenFile names a file holding the token, re-read when the API
	// refuses the token (see auth_token_file).
	EnvTokenFile = "CONFLUX_SYNC_TOKEN_PATH"
)

// RetryUnavailable is how long a request is sent again while the cluster
// answers that it cannot take it now (503 during a leader election, 429
// when throttled; see api.WithRetry): a failover in the middle of an apply
// takes seconds and must not fail it.
const RetryUnavailable = time.Minute

// Provider is the conflux provider.
type Provider struct {
	version string
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider factory for providerserver.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &Provider{version: version} }
}

type providerModel struct {
	ServerEndpoint types.String `tfsdk:"server_endpoint"`
	AuthToken      types.String `tfsdk:"auth_token"`
	AuthTokenFile  types.String `tfsdk:"auth_token_file"`
	CAFile         types.String `tfsdk:"ca_file"`
}

// Metadata names the provider.
func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "conflux"
	resp.Version = p.version
}

// Schema describes the provider block.
func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages Conflux configs, releases and release policies, and Cloudflare tunnel ingress rules, through a conflux-sync cluster: " +
			"every resource is a fragment of source kind Terraform, so Terraform shares objects with Git and Kubernetes without overwriting them.",
		Attributes: map[string]schema.Attribute{
			"server_endpoint": schema.StringAttribute{
				Optional:    true,
				Description: "Admin API URL of any conflux-sync node, e.g. http://127.0.0.1:7780. Default: the " + EnvAddr + " environment variable.",
			},
			"auth_token": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "Bearer token of the admin API (role write). Conflicts with auth_token_file. When neither is set: the " + EnvToken + " environment variable, else the file named by " + EnvTokenFile + " (not both).",
			},
			"auth_token_file": schema.StringAttribute{
				Optional: true,
				Description: "File holding the bearer token of the admin API (the token alone, e.g. a mounted Secret). When the API refuses the token (HTTP 401) the provider " +
					"reads the file again and retries the request once, so a token rotated during a long apply does not fail it. Conflicts with auth_token. " +
					"Default: the " + EnvTokenFile + " environment variable, when neither auth_token nor " + EnvToken + " is set.",
			},
			"ca_file": schema.StringAttribute{
				Optional:    true,
				Description: "PEM file of the CA that signed the admin API's certificate, for https endpoints.",
			},
		},
	}
}

// Configure builds the admin API client the resources share.
func (p *Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for name, v := range map[string]types.String{"server_endpoint": cfg.ServerEndpoint, "auth_token": cfg.AuthToken, "auth_token_file": cfg.AuthTokenFile, "ca_file": cfg.CAFile} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(name), "Unknown "+name,
				"The provider cannot be configured with a value known only after apply. Set "+name+" to a literal, a variable, or leave it unset to use the environment.")
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	endpoint := stringOr(cfg.ServerEndpoint, os.Getenv(EnvAddr))
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("server_endpoint"), "Missing server_endpoint",
			"Set server_endpoint in the provider block or the "+EnvAddr+" environment variable to the admin API URL of a conflux-sync node.")
	}
	tokens := configureToken(cfg, os.Getenv, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var base http.RoundTripper = http.DefaultTransport
	if ca := cfg.CAFile.ValueString(); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("ca_file"), "Cannot read ca_file", err.Error())
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			resp.Diagnostics.AddAttributeError(path.Root("ca_file"), "Invalid ca_file", ca+" holds no PEM certificate.")
			return
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		base = tr
	}
	// The transport sends the token, so a token re-read from
	// auth_token_file reaches every request, the probe's included.
	httpClient := &http.Client{Timeout: 5 * time.Minute, Transport: &authTransport{next: base, tokens: tokens}}
	c, err := api.NewClient(endpoint, api.WithHTTPClient(httpClient), api.WithRetry(RetryUnavailable))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("server_endpoint"), "Invalid server_endpoint", err.Error())
		return
	}
	if detail := probeEndpoint(ctx, httpClient, endpoint); detail != "" {
		resp.Diagnostics.AddAttributeError(path.Root("server_endpoint"), "server_endpoint is not a conflux-sync admin API", detail)
		return
	}
	// Reads are consistent: a plan right after an apply on another node
	// sees the apply.
	c.Consistency = api.Consistent
	data := &clientData{api: c}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// Resources lists the resource types.
func (p *Provider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewConfigResource,
		NewReleaseResource,
		NewReleasePolicyResource,
		NewTunnelIngressResource,
	}
}

// DataSources lists the data source types.
func (p *Provider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewConfigDataSource,
		NewResolvedReleaseDataSource,
	}
}

// probeEndpoint asks endpoint for GET /v1/status, which every conflux-sync
// node answers, and returns why endpoint is not a conflux-sync admin API
// ("" when it is, or when the probe cannot tell: an unreachable endpoint
// is reported by the first real request, as before). A Conflux server
// answers with a problem document (application/problem+json), which the
// admin API never sends: the provider writes through conflux-sync, the
// single writer to Conflux, and cannot talk to Conflux directly.
func probeEndpoint(ctx context.Context, hc *http.Client, endpoint string) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/v1/status", nil)
	if err != nil {
		return ""
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	point := "Point server_endpoint (or " + EnvAddr + ") at the admin API of a conflux-sync node (its --http-addr, e.g. http://127.0.0.1:7780), not at Conflux: " +
		"conflux-sync is the single writer to Conflux, and the provider writes through it."
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/problem+json" {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(body, &p)
		return fmt.Sprintf("%s answers like a Conflux server, not a conflux-sync node: GET /v1/status got HTTP %d %s %q. %s",
			endpoint, resp.StatusCode, p.Title, p.Detail, point)
	}
	if resp.StatusCode == http.StatusNotFound {
		var eb api.ErrorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error.Code == "" {
			return fmt.Sprintf("%s has no GET /v1/status (HTTP 404: %s), so it is not a conflux-sync node. %s",
				endpoint, strings.TrimSpace(string(body)), point)
		}
	}
	return ""
}

// probeTimeout bounds the configure-time probe of server_endpoint.
const probeTimeout = 30 * time.Second

func stringOr(v types.String, fallback string) string {
	if v.IsNull() || v.ValueString() == "" {
		return fallback
	}
	return v.ValueString()
}
