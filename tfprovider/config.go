package tfprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// The Conflux API's naming rules (as sync/conflux checks them), so a bad
// name fails at plan time on its attribute.
const (
	segmentPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`
	namePattern    = `^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`
)

// configResource is conflux_config: the metadata of one Conflux config,
// as the config section of a conflux.Config fragment.
type configResource struct {
	client *clientData
}

var (
	_ resource.Resource                = (*configResource)(nil)
	_ resource.ResourceWithConfigure   = (*configResource)(nil)
	_ resource.ResourceWithImportState = (*configResource)(nil)

	_ resource.ResourceWithValidateConfig = (*configResource)(nil)
)

// NewConfigResource returns the conflux_config resource.
func NewConfigResource() resource.Resource { return &configResource{} }

type configModel struct {
	ID              types.String         `tfsdk:"id"`
	ConfluxID       types.String         `tfsdk:"conflux_id"`
	Tenant          types.String         `tfsdk:"tenant"`
	Application     types.String         `tfsdk:"application"`
	Environment     types.String         `tfsdk:"environment"`
	Name            types.String         `tfsdk:"name"`
	Format          types.String         `tfsdk:"format"`
	Schema          jsontypes.Normalized `tfsdk:"schema"`
	Description     types.String         `tfsdk:"description"`
	RetentionPolicy *retentionModel      `tfsdk:"retention_policy"`
}

// retentionModel is the retention_policy block. Its rules are written as
// `rule` blocks or, as the design spells them, `rules` blocks; a config
// uses one spelling (ValidateConfig), and the state keeps it.
type retentionModel struct {
	Strategy   types.String         `tfsdk:"strategy"`
	Rules      []retentionRuleModel `tfsdk:"rule"`
	RulesAlias []retentionRuleModel `tfsdk:"rules"`
}

// rules returns the rules in whichever spelling the config used.
func (rp retentionModel) rules() []retentionRuleModel {
	if len(rp.Rules) == 0 {
		return rp.RulesAlias
	}
	return rp.Rules
}

type retentionRuleModel struct {
	Type types.String `tfsdk:"type"`
	Keep types.Int64  `tfsdk:"keep"`
}

// key is the config's natural key, also the resource id and the target
// name.
func (m configModel) key() string {
	return strings.Join([]string{m.Tenant.ValueString(), m.Application.ValueString(), m.Environment.ValueString(), m.Name.ValueString()}, "/")
}

func (m configModel) target() api.TargetRef {
	return api.TargetRef{Kind: api.KindConfluxConfig, Name: m.key()}
}

// section is the fragment's config section.
func (m configModel) section() api.ConfluxConfigSection {
	s := api.ConfluxConfigSection{Format: m.Format.ValueString(), Description: m.Description.ValueString()}
	if !m.Schema.IsNull() && !m.Schema.IsUnknown() {
		s.Schema = json.RawMessage(m.Schema.ValueString())
	}
	if rp := m.RetentionPolicy; rp != nil {
		s.RetentionPolicy = &api.ConfluxRetentionPolicy{Strategy: rp.Strategy.ValueString(), Rules: []api.ConfluxRetentionRule{}}
		for _, r := range rp.rules() {
			s.RetentionPolicy.Rules = append(s.RetentionPolicy.Rules, api.ConfluxRetentionRule{Type: r.Type.ValueString(), Keep: int(r.Keep.ValueInt64())})
		}
	}
	return s
}

// setSection copies a stored config section into the model, so a change
// made outside Terraform shows in the plan.
func (m *configModel) setSection(s api.ConfluxConfigSection) {
	m.Format = types.StringValue(s.Format)
	m.Description = types.StringValue(s.Description)
	if len(s.Schema) == 0 {
		m.Schema = jsontypes.NewNormalizedNull()
	} else if m.Schema.IsNull() || m.Schema.IsUnknown() || !sameJSON(m.Schema.ValueString(), string(s.Schema)) {
		// The admin API answers indented JSON; state keeps it compact,
		// as jsonencode writes it.
		var compact bytes.Buffer
		if json.Compact(&compact, s.Schema) == nil {
			s.Schema = compact.Bytes()
		}
		m.Schema = jsontypes.NewNormalizedValue(string(s.Schema))
	}
	// The state keeps the spelling the configuration used; an import has
	// none to go by and writes the design's, `rules`.
	alias := m.RetentionPolicy == nil || len(m.RetentionPolicy.Rules) == 0
	m.RetentionPolicy = nil
	if rp := s.RetentionPolicy; rp != nil {
		var rules []retentionRuleModel
		for _, r := range rp.Rules {
			rules = append(rules, retentionRuleModel{Type: types.StringValue(r.Type), Keep: types.Int64Value(int64(r.Keep))})
		}
		m.RetentionPolicy = &retentionModel{Strategy: types.StringValue(rp.Strategy), Rules: []retentionRuleModel{}, RulesAlias: []retentionRuleModel{}}
		if alias {
			m.RetentionPolicy.RulesAlias = rules
		} else {
			m.RetentionPolicy.Rules = rules
		}
	}
}

func (r *configResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_config"
}

func (r *configResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	segment := []validator.String{stringvalidator.RegexMatches(mustRegexp(segmentPattern), "must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (at most 128)")}
	resp.Schema = schema.Schema{
		Description: "The metadata of one Conflux config (format, schema, retention, description). " +
			"It is the config section of a conflux.Config fragment of source Terraform/conflux_config/<id>; a config whose metadata another source (a Git file, the API) owns is refused with a diagnostic and nothing is written. " +
			"Destroying it deletes the config from Conflux once no other source contributes to it, if conflux-sync created it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				Description:   "The natural key `tenant/application/environment/name`: the `config_id` of releases and policies, the target name, and the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"conflux_id": schema.StringAttribute{
				Computed:      true,
				Description:   "The config's id in Conflux (`cfg_…`), once synced.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"tenant":      schema.StringAttribute{Required: true, Description: "Conflux tenant: starts with a letter or digit, then letters, digits, `.`, `_` and `-`, at most 128. Changing it replaces the config.", PlanModifiers: replace, Validators: segment},
			"application": schema.StringAttribute{Required: true, Description: "Application: starts with a letter or digit, then letters, digits, `.`, `_` and `-`, at most 128. Changing it replaces the config.", PlanModifiers: replace, Validators: segment},
			"environment": schema.StringAttribute{Required: true, Description: "Environment: starts with a letter or digit, then letters, digits, `.`, `_` and `-`, at most 128. Changing it replaces the config.", PlanModifiers: replace, Validators: segment},
			"name": schema.StringAttribute{
				Required: true, Description: "Config name: as `tenant`, and may also contain `/`; at most 255. Changing it replaces the config.", PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.RegexMatches(mustRegexp(namePattern), "must start with a letter or digit and hold only letters, digits, '.', '_', '/' and '-' (at most 255)")},
			},
			"format": schema.StringAttribute{
				Required: true, Description: "Content format: `json`, `yaml`, `toml`, `properties` or `text`. A config's format cannot change in Conflux, so changing it replaces the config.",
				PlanModifiers: replace, Validators: []validator.String{stringvalidator.OneOf("json", "yaml", "toml", "properties", "text")},
			},
			"schema": schema.StringAttribute{
				Optional: true, Computed: true, CustomType: jsontypes.NormalizedType{},
				PlanModifiers: []planmodifier.String{keepEqualJSON{}},
				Description: "JSON Schema every version's content must satisfy (the subset Conflux checks), e.g. `jsonencode({...})`, `file(\"schema.json\")` or a heredoc of pretty-printed JSON. " +
					"Whitespace and key order never show as a difference, also after an import (whose state holds the JSON as conflux-sync stores it: the plan keeps that spelling while the JSON is equal). " +
					"Not allowed with `format = \"text\"`. Changes in place.",
			},
			"description": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				Description: "Free text, at most 1,024 characters; default `\"\"`. Changes in place.", Validators: []validator.String{stringvalidator.UTF8LengthAtMost(1024)},
			},
		},
		Blocks: map[string]schema.Block{
			"retention_policy": schema.SingleNestedBlock{
				Description: "Which versions Conflux prunes; without it every version is kept. Conflux never removes the newest version, the newest stable one, or one a policy rule points at. Changes in place.",
				Validators:  []validator.Object{objectvalidator.AlsoRequires(path.MatchRelative().AtName("strategy"))},
				Attributes: map[string]schema.Attribute{
					"strategy": schema.StringAttribute{
						Optional: true, Description: "Required within the block. `AND`: remove a version only when every rule would; `OR`: when any rule would.",
						Validators: []validator.String{stringvalidator.OneOf("AND", "OR")},
					},
				},
				Blocks: map[string]schema.Block{
					"rule": retentionRuleBlock("A retention rule, the provider's earlier spelling of `rules`: both mean the same. At least one `rule` or `rules` block."),
					"rules": retentionRuleBlock("A retention rule, as the design spells it; also accepted as `rule`. Both mean the same, and the state keeps the one the configuration uses. " +
						"An import writes `rules`, so a configuration spelled `rule` shows the rename once after an import (the apply changes nothing in Conflux). " +
						"A configuration with both `rule` and `rules` blocks fails with *Conflicting retention rule blocks*."),
				},
			},
		},
	}
}

// retentionRuleBlock is the schema of a retention rule block, under
// either name.
func retentionRuleBlock(description string) schema.ListNestedBlock {
	return schema.ListNestedBlock{
		Description: description,
		NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
			"type": schema.StringAttribute{Required: true, Description: "`count`: keep the newest `keep` versions; `days`: keep versions younger than `keep` days.",
				Validators: []validator.String{stringvalidator.OneOf("count", "days")}},
			"keep": schema.Int64Attribute{Required: true, Description: "A number of versions or days, at least 1.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
		}},
	}
}

// ValidateConfig checks that a retention_policy has rules, written in one
// of the two spellings.
func (r *configResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	rp := path.Root("retention_policy")
	var policy types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, rp, &policy)...)
	if resp.Diagnostics.HasError() || policy.IsNull() || policy.IsUnknown() {
		return
	}
	var rule, rules types.List
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, rp.AtName("rule"), &rule)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, rp.AtName("rules"), &rules)...)
	if resp.Diagnostics.HasError() || rule.IsUnknown() || rules.IsUnknown() {
		return
	}
	switch n, m := len(rule.Elements()), len(rules.Elements()); {
	case n > 0 && m > 0:
		resp.Diagnostics.AddAttributeError(rp.AtName("rules"), "Conflicting retention rule blocks",
			fmt.Sprintf("retention_policy has %d `rule` and %d `rules` blocks: the two names mean the same, write every rule with one of them", n, m))
	case n == 0 && m == 0:
		resp.Diagnostics.AddAttributeError(rp.AtName("rule"), "Missing retention rule",
			"retention_policy needs at least one `rule` (or `rules`) block")
	}
}

func (r *configResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *configResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m configModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.write(ctx, &m, true, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *configResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m configModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.write(ctx, &m, false, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// write proposes the config section and waits for the sync. A config
// another source owns is refused before anything is written; a sync error
// or a lost race undoes a new fragment.
func (r *configResource) write(ctx context.Context, m *configModel, create bool, diags *diag.Diagnostics) bool {
	c := r.client.api
	target, src := m.target(), source("conflux_config", m.key())
	if t, ok, err := getTarget(ctx, c, target); err != nil {
		addAPIError(diags, path.Root("name"), "Cannot read config "+target.Name, err)
		return false
	} else if ok {
		if owner := configOwner(t, src); owner != "" {
			diags.AddAttributeError(path.Root("name"), "Config owned by another source",
				fmt.Sprintf("The metadata of config %s is owned by %s; Terraform does not take it over. Remove it from that source first, or manage the config there. Nothing was written.", target.Name, owner))
			return false
		}
	}
	spec, err := json.Marshal(api.ConfluxConfigSpec{Config: ptr(m.section())})
	if err != nil {
		diags.AddError("Cannot encode the config", err.Error())
		return false
	}
	res, err := c.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: generation(), Spec: spec}, api.Wait(writeWait))
	if err != nil {
		addAPIError(diags, path.Root("name"), "Cannot write config "+target.Name, err)
		return false
	}
	undo := func() {
		if create {
			_, _ = c.DeleteFragment(ctx, target, src)
		}
	}
	if msg := syncError(res, target); msg != "" {
		undo()
		diags.AddAttributeError(attributeOf(msg), "Conflux refused config "+target.Name, msg)
		return false
	}
	t, _, err := getTarget(ctx, c, target)
	if err != nil {
		addAPIError(diags, path.Root("name"), "Cannot read config "+target.Name, err)
		return false
	}
	if reason := conflictOf(t, src); reason != "" {
		undo()
		diags.AddAttributeError(path.Root("name"), "Config owned by another source", reason+". Nothing was kept.")
		return false
	}
	m.ID = types.StringValue(m.key())
	m.ConfluxID = types.StringValue(downstreamID(t, "configId"))
	return true
}

func (r *configResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m configModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := m.ID.ValueString()
	t, ok, err := getTarget(ctx, r.client.api, api.TargetRef{Kind: api.KindConfluxConfig, Name: key})
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("id"), "Cannot read config "+key, err)
		return
	}
	frag := fragmentOf(t, source("conflux_config", key))
	if !ok || frag == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	var spec api.ConfluxConfigSpec
	if err := json.Unmarshal(frag.Spec, &spec); err != nil || spec.Config == nil {
		resp.Diagnostics.AddError("Unreadable fragment", fmt.Sprintf("the fragment of %s has no config section (%v); it was changed outside Terraform", key, err))
		return
	}
	if !fillKey(&m, key) {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid id", fmt.Sprintf("%q is not tenant/application/environment/name", key))
		return
	}
	m.setSection(*spec.Config)
	m.ConfluxID = types.StringValue(downstreamID(t, "configId"))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *configResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m configModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := m.ID.ValueString()
	target := api.TargetRef{Kind: api.KindConfluxConfig, Name: key}
	res, err := r.client.api.DeleteFragment(ctx, target, source("conflux_config", key), api.Wait(writeWait))
	if err != nil && !isNotFound(err) {
		addAPIError(&resp.Diagnostics, path.Root("id"), "Cannot delete config "+key, err)
		return
	}
	if msg := syncError(res, target); msg != "" {
		resp.Diagnostics.AddWarning("Config removed from conflux-sync, Conflux not yet updated", msg+" (the leader keeps retrying)")
	}
}

// ImportState takes tenant/application/environment/name: the resource
// whose Terraform fragment exists (a lost or moved state).
func (r *configResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var m configModel
	if !fillKey(&m, req.ID) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q: want tenant/application/environment/name", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// fillKey sets the key attributes from a natural key.
func fillKey(m *configModel, key string) bool {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) != 4 || slicesContainsEmpty(parts) {
		return false
	}
	m.ID = types.StringValue(key)
	m.Tenant, m.Application, m.Environment, m.Name = types.StringValue(parts[0]), types.StringValue(parts[1]), types.StringValue(parts[2]), types.StringValue(parts[3])
	return true
}

func slicesContainsEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

// configOwner returns the source, other than self, that owns the config
// section of t: the oldest fragment setting it ("" when none does).
func configOwner(t api.Target, self api.SourceRef) string {
	var owner *api.Fragment
	for i, f := range t.Fragments {
		if f.Source == self {
			continue
		}
		var spec api.ConfluxConfigSpec
		if json.Unmarshal(f.Spec, &spec) == nil && spec.Config != nil && (owner == nil || f.CreateIndex < owner.CreateIndex) {
			owner = &t.Fragments[i]
		}
	}
	if owner == nil {
		return ""
	}
	return owner.Source.String()
}

// downstreamID returns one id the leader recorded for t.
func downstreamID(t api.Target, key string) string {
	if t.Status == nil {
		return ""
	}
	return t.Status.DownstreamIDs[key]
}

// attributeOf points a Conflux error at the attribute it is about.
func attributeOf(msg string) path.Path {
	switch {
	case strings.Contains(msg, "schema"):
		return path.Root("schema")
	case strings.Contains(msg, "retention"):
		return path.Root("retention_policy")
	case strings.Contains(msg, "format"):
		return path.Root("format")
	}
	return path.Root("name")
}

func ptr[T any](v T) *T { return &v }

func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
