package tfprovider

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// configDataSource is data "conflux_config": a config as conflux-sync
// aggregates it, whoever owns it (a Git file, Terraform, the API).
type configDataSource struct {
	client *clientData
}

var _ datasource.DataSourceWithConfigure = (*configDataSource)(nil)

// NewConfigDataSource returns the conflux_config data source.
func NewConfigDataSource() datasource.DataSource { return &configDataSource{} }

type configDataModel struct {
	ID           types.String `tfsdk:"id"`
	ConfluxID    types.String `tfsdk:"conflux_id"`
	Tenant       types.String `tfsdk:"tenant"`
	Application  types.String `tfsdk:"application"`
	Environment  types.String `tfsdk:"environment"`
	Name         types.String `tfsdk:"name"`
	Format       types.String `tfsdk:"format"`
	Schema       types.String `tfsdk:"schema"`
	Description  types.String `tfsdk:"description"`
	Owner        types.String `tfsdk:"owner"`
	ReleaseNames types.List   `tfsdk:"release_names"`
	Synced       types.Bool   `tfsdk:"synced"`
}

func (d *configDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_config"
}

func (d *configDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}
	resp.Schema = schema.Schema{
		Description: "A Conflux config by its natural key, as conflux-sync aggregates it from every source.",
		Attributes: map[string]schema.Attribute{
			"tenant":      schema.StringAttribute{Required: true, Description: "Conflux tenant of the config."},
			"application": schema.StringAttribute{Required: true, Description: "Application of the config."},
			"environment": schema.StringAttribute{Required: true, Description: "Environment of the config."},
			"name":        schema.StringAttribute{Required: true, Description: "Config name, e.g. `db.json`. A config no source writes is an error (*No such config*)."},
			"id":          computed("`tenant/application/environment/name`: what `conflux_release` and `conflux_release_policy` take as `config_id`."),
			"conflux_id":  computed("The config's id in Conflux (`cfg_…`) once synced; `\"\"` before."),
			"format":      computed("Content format, from the owner's `config` section; `\"\"` when no source sets one."),
			"schema":      computed("The JSON Schema, compact with sorted keys; `\"\"` when none."),
			"description": computed("Description, from the owner's `config` section; `\"\"` when no source sets one."),
			"owner":       computed("The source owning the metadata, e.g. `GitSource/app-configs` or `Terraform/conflux_config/acme/shop/prod/db.json`."),
			"release_names": schema.ListAttribute{
				Computed: true, ElementType: types.StringType, Description: "Names of the releases every source contributes, sorted.",
			},
			"synced": schema.BoolAttribute{Computed: true, Description: "Whether Conflux holds the current aggregate: the last sync succeeded and wrote this state."},
		},
	}
}

func (d *configDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *configDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m configDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := strings.Join([]string{m.Tenant.ValueString(), m.Application.ValueString(), m.Environment.ValueString(), m.Name.ValueString()}, "/")
	t, ok, err := getTarget(ctx, d.client.api, api.TargetRef{Kind: api.KindConfluxConfig, Name: key})
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("name"), "Cannot read config "+key, err)
		return
	}
	if !ok || t.Desired == nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "No such config", "conflux-sync has no fragment for config "+key)
		return
	}
	var desired struct {
		Config   *api.ConfluxConfigSection `json:"config"`
		Releases []api.ConfluxRelease      `json:"releases"`
	}
	if err := json.Unmarshal(t.Desired, &desired); err != nil {
		resp.Diagnostics.AddError("Unreadable aggregate", err.Error())
		return
	}
	m.ID = types.StringValue(key)
	m.ConfluxID = types.StringValue(downstreamID(t, "configId"))
	m.Owner = types.StringValue(configOwner(t, api.SourceRef{}))
	m.Format, m.Schema, m.Description = types.StringValue(""), types.StringValue(""), types.StringValue("")
	if c := desired.Config; c != nil {
		m.Format, m.Schema, m.Description = types.StringValue(c.Format), types.StringValue(string(c.Schema)), types.StringValue(c.Description)
	}
	names := make([]string, 0, len(desired.Releases))
	for _, r := range desired.Releases {
		names = append(names, r.Name)
	}
	list, diags := types.ListValueFrom(ctx, types.StringType, names)
	resp.Diagnostics.Append(diags...)
	m.ReleaseNames = list
	m.Synced = types.BoolValue(t.Status != nil && t.Status.Error == "" && t.Status.SyncedHash == t.Hash)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
