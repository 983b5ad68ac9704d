package tfprovider

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// ResolvedReleaseDataSource is conflux_resolved_release: the release a
// client with given labels receives, computed like Conflux's resolve from
// the aggregate conflux-sync syncs (so it answers what the policy says,
// whoever owns it, without a Conflux token).
type ResolvedReleaseDataSource struct {
	c *clientData
}

var _ datasource.DataSourceWithConfigure = (*ResolvedReleaseDataSource)(nil)

// NewResolvedReleaseDataSource returns the conflux_resolved_release data source.
func NewResolvedReleaseDataSource() datasource.DataSource { return &ResolvedReleaseDataSource{} }

type resolvedReleaseModel struct {
	ConfigID        types.String `tfsdk:"config_id"`
	Labels          types.Map    `tfsdk:"labels"`
	VersionID       types.String `tfsdk:"version_id"`
	ReleaseName     types.String `tfsdk:"release_name"`
	MatchedPriority types.Int64  `tfsdk:"matched_priority"`
	ContentSHA256   types.String `tfsdk:"content_sha256"`
}

// Metadata names the data source.
func (d *ResolvedReleaseDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resolved_release"
}

// Schema describes conflux_resolved_release.
func (d *ResolvedReleaseDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The release a client carrying labels receives from a Conflux config: the highest-priority policy rule whose labels it all carries.",
		Attributes: map[string]schema.Attribute{
			"config_id": schema.StringAttribute{
				Required: true,
				Description: "The config's id `tenant/application/environment/name`, e.g. `conflux_config.db.id`. " +
					"Errors: *Unknown config* (no source writes it), *No release policy* (no fragment sets one), *No matching rule* (every rule needs a label the client lacks), " +
					"*Release not published* (the matching rule names a release with no Conflux version yet).",
			},
			"labels": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "The client's labels. Without labels only a default rule (one without labels) matches.",
			},
			"version_id":       schema.StringAttribute{Computed: true, Description: "The Conflux version id the client receives."},
			"release_name":     schema.StringAttribute{Computed: true, Description: "The release's name inside conflux-sync."},
			"matched_priority": schema.Int64Attribute{Computed: true, Description: "The priority of the rule that matched."},
			"content_sha256":   schema.StringAttribute{Computed: true, Description: "Hex SHA-256 of the version's content."},
		},
	}
}

// Configure takes the provider's client.
func (d *ResolvedReleaseDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.c = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// desiredConfig is the part of a conflux.Config target's desired state
// resolving needs.
type desiredConfig struct {
	Releases []api.ConfluxRelease `json:"releases"`
	Policy   *api.ConfluxPolicy   `json:"policy"`
}

// resolve returns the rule a client with labels matches: the highest
// priority one whose labels it all carries with equal values.
func resolve(p *api.ConfluxPolicy, labels map[string]string) (api.ConfluxPolicyRule, bool) {
	if p == nil {
		return api.ConfluxPolicyRule{}, false
	}
	rules := slices.Clone(p.Rules)
	slices.SortStableFunc(rules, func(a, b api.ConfluxPolicyRule) int { return cmp.Compare(b.Priority, a.Priority) })
	for _, r := range rules {
		match := true
		for k, v := range r.Labels {
			if got, ok := labels[k]; !ok || got != v {
				match = false
				break
			}
		}
		if match {
			return r, true
		}
	}
	return api.ConfluxPolicyRule{}, false
}

// Read resolves.
func (d *ResolvedReleaseDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m resolvedReleaseModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	labels := map[string]string{}
	resp.Diagnostics.Append(m.Labels.ElementsAs(ctx, &labels, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID := m.ConfigID.ValueString()
	t, found, err := getTarget(ctx, d.c.api, releaseTarget(configID))
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot read config "+configID, err)
		return
	}
	var want desiredConfig
	if found && len(t.Desired) > 0 {
		if err := json.Unmarshal(t.Desired, &want); err != nil {
			resp.Diagnostics.AddError("Cannot decode config "+configID, err.Error())
			return
		}
	}
	if !found || string(t.Desired) == "null" || len(t.Desired) == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("config_id"), "Unknown config",
			fmt.Sprintf("conflux-sync has no config %s", configID))
		return
	}
	if want.Policy == nil {
		resp.Diagnostics.AddAttributeError(path.Root("config_id"), "No release policy",
			fmt.Sprintf("config %s has no release policy in conflux-sync (no fragment sets one), so nothing resolves", configID))
		return
	}
	rule, ok := resolve(want.Policy, labels)
	if !ok {
		resp.Diagnostics.AddAttributeError(path.Root("labels"), "No matching rule",
			fmt.Sprintf("no rule of the release policy of config %s matches the labels {%s}: every rule needs a label the client lacks; add a default rule (without labels)",
				configID, formatLabels(labels)))
		return
	}
	var ids map[string]string
	if t.Status != nil {
		ids = t.Status.DownstreamIDs
	}
	vid := ids[idRelease+rule.Release]
	if vid == "" {
		resp.Diagnostics.AddAttributeError(path.Root("config_id"), "Release not published",
			fmt.Sprintf("the rule with priority %d of config %s names release %s, which has no Conflux version yet", rule.Priority, configID, rule.Release))
		return
	}
	sha := ids[idRelease+rule.Release+idShaSuffix]
	if sha == "" {
		for _, r := range want.Releases {
			if r.Name == rule.Release {
				sha = r.ContentSHA256()
			}
		}
	}
	m.VersionID = types.StringValue(vid)
	m.ReleaseName = types.StringValue(rule.Release)
	m.MatchedPriority = types.Int64Value(int64(rule.Priority))
	m.ContentSHA256 = types.StringValue(sha)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// formatLabels renders labels sorted, for messages.
func formatLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return strings.Join(parts, ", ")
}
