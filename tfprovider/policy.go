package tfprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/conflux-sync/conflux-sync/api"
)

// policyType is the resource type and its fragments' source namespace.
const policyType = "conflux_release_policy"

// ReleasePolicyResource is conflux_release_policy: the whole release
// policy of one Conflux config. Rules name Conflux version ids; the
// fragment names releases, so the resource maps between the two through
// the config's sync status.
type ReleasePolicyResource struct {
	c *clientData
}

var (
	_ resource.ResourceWithConfigure      = (*ReleasePolicyResource)(nil)
	_ resource.ResourceWithImportState    = (*ReleasePolicyResource)(nil)
	_ resource.ResourceWithValidateConfig = (*ReleasePolicyResource)(nil)
)

// NewReleasePolicyResource returns the conflux_release_policy resource.
func NewReleasePolicyResource() resource.Resource { return &ReleasePolicyResource{} }

type policyModel struct {
	ID       types.String      `tfsdk:"id"`
	ConfigID types.String      `tfsdk:"config_id"`
	Rules    []policyRuleModel `tfsdk:"rule"`
}

type policyRuleModel struct {
	Priority  types.Int64  `tfsdk:"priority"`
	VersionID types.String `tfsdk:"version_id"`
	Labels    types.Map    `tfsdk:"labels"`
}

// Metadata names the resource type.
func (r *ReleasePolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release_policy"
}

// Schema describes conflux_release_policy.
func (r *ReleasePolicyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The release policy of a Conflux config, authoritatively: the highest-priority rule whose labels all match a client " +
			"decides which version it receives. Destroying the resource resets the policy to a single default rule pointing at the newest stable version.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Description:   "The `config_id`; the import id.",
			},
			"config_id": schema.StringAttribute{
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Description:   "The config's id `tenant/application/environment/name`, e.g. `conflux_config.db.id`; the config must exist in conflux-sync. Changing it replaces the policy.",
			},
		},
		Blocks: map[string]schema.Block{
			"rule": schema.ListNestedBlock{
				Description: "A rule: clients carrying all of `labels` receive `version_id`, unless a rule with a higher priority matches too. Rules are checked at plan time and change in place.",
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"priority": schema.Int64Attribute{
							Required:    true,
							Description: "Unique within the policy; the highest matching priority wins.",
						},
						"version_id": schema.StringAttribute{
							Required:    true,
							Description: "A version published through conflux-sync (by `conflux_release`, a Git file or Kubernetes), e.g. `conflux_release.v4.version_id`.",
						},
						"labels": schema.MapAttribute{
							Optional: true, Computed: true, ElementType: types.StringType,
							PlanModifiers: []planmodifier.Map{emptyLabels{}},
							Description:   "Labels a client must all carry with equal values. A rule without labels (or `labels = {}`, the same) is the default; at most one rule may be. Both spellings are `{}` in the state, so neither shows as a difference, also after an import.",
						},
					},
				},
			},
		},
	}
}

// Configure takes the provider's client.
func (r *ReleasePolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.c = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig catches at plan time what Conflux would refuse at apply
// time: duplicate priorities and more than one default rule.
func (r *ReleasePolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg policyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateRules(cfg.Rules, &resp.Diagnostics)
}

// validateRules checks the known parts of the rules; unknown values are
// checked at apply time by conflux-sync.
func validateRules(rules []policyRuleModel, diags *diag.Diagnostics) {
	byPriority := map[int64]int{}
	defaultAt := -1
	for i, rule := range rules {
		at := path.Root("rule").AtListIndex(i)
		if !rule.Priority.IsNull() && !rule.Priority.IsUnknown() {
			p := rule.Priority.ValueInt64()
			if j, dup := byPriority[p]; dup {
				diags.AddAttributeError(at.AtName("priority"), "Duplicate rule priority",
					fmt.Sprintf("rule[%d] and rule[%d] both have priority %d; priorities must be unique within a policy", j, i, p))
			} else {
				byPriority[p] = i
			}
		}
		if rule.Labels.IsUnknown() || len(rule.Labels.Elements()) > 0 {
			continue
		}
		if defaultAt >= 0 {
			diags.AddAttributeError(at.AtName("labels"), "More than one default rule",
				fmt.Sprintf("rule[%d] and rule[%d] both have no labels; at most one rule may be the default (match every client)", defaultAt, i))
			continue
		}
		defaultAt = i
	}
}

func policySource(configID string) api.SourceRef { return source(policyType, configID) }

// releaseNames maps the version ids of a config's releases to their names:
// only releases the aggregate still holds count (the status may still list
// ids of removed ones).
func releaseNames(t api.Target) map[string]string {
	out := map[string]string{}
	if t.Status == nil {
		return out
	}
	var d struct {
		Releases []struct {
			Name string `json:"name"`
		} `json:"releases"`
	}
	if len(t.Desired) > 0 {
		_ = json.Unmarshal(t.Desired, &d)
	}
	names := make([]string, 0, len(d.Releases))
	for _, rel := range d.Releases {
		names = append(names, rel.Name)
	}
	slices.Sort(names)
	for _, n := range names {
		if vid := t.Status.DownstreamIDs[idRelease+n]; vid != "" {
			if _, taken := out[vid]; !taken {
				out[vid] = n
			}
		}
	}
	return out
}

// Create writes the policy fragment; when conflux-sync cannot apply it the
// fragment is removed again, so the config's sync is not left failing.
func (r *ReleasePolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan policyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.write(ctx, &plan, true, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Update rewrites the policy fragment.
func (r *ReleasePolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan policyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.write(ctx, &plan, false, &resp.Diagnostics) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// write maps the plan's version ids to release names, writes the fragment,
// waits for the sync and reports what kept it from applying. undoOnError
// deletes the fragment again after a failure (for a create).
func (r *ReleasePolicyResource) write(ctx context.Context, plan *policyModel, undoOnError bool, diags *diag.Diagnostics) bool {
	configID := plan.ConfigID.ValueString()
	target, src := releaseTarget(configID), policySource(configID)
	t, found, err := getTarget(ctx, r.c.api, target)
	if err != nil {
		addAPIError(diags, path.Root("config_id"), "Cannot read config "+configID, err)
		return false
	}
	if !found {
		diags.AddAttributeError(path.Root("config_id"), "Unknown config",
			fmt.Sprintf("conflux-sync has no config %s; create it with conflux_config (or Git) first", configID))
		return false
	}
	names := releaseNames(t)
	policy := api.ConfluxPolicy{Rules: make([]api.ConfluxPolicyRule, 0, len(plan.Rules))}
	for i, rule := range plan.Rules {
		vid := rule.VersionID.ValueString()
		name, ok := names[vid]
		if !ok {
			diags.AddAttributeError(path.Root("rule").AtListIndex(i).AtName("version_id"), "Unknown version id",
				fmt.Sprintf("rule[%d]: %q is not a version of config %s published through conflux-sync; "+
					"a policy can only point at releases conflux-sync publishes (conflux_release, Git, Kubernetes)", i, vid, configID))
			continue
		}
		labels := map[string]string{}
		diags.Append(rule.Labels.ElementsAs(ctx, &labels, false)...)
		if len(labels) == 0 {
			labels = nil
		}
		policy.Rules = append(policy.Rules, api.ConfluxPolicyRule{Priority: int(rule.Priority.ValueInt64()), Release: name, Labels: labels})
	}
	if diags.HasError() {
		return false
	}
	spec, err := json.Marshal(api.ConfluxConfigSpec{Policy: &policy})
	if err != nil {
		diags.AddError("Cannot encode the policy", err.Error())
		return false
	}
	res, err := r.c.api.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: generation(), Spec: spec}, api.Wait(writeWait))
	fail := func(at path.Path, summary, detail string) bool {
		if undoOnError {
			detail += "; the policy was removed again"
			if _, err := r.c.api.DeleteFragment(ctx, target, src, api.Wait(writeWait)); err != nil && !api.IsCode(err, api.CodeNotFound) && !api.IsCode(err, api.CodeWaitTimeout) {
				diags.AddWarning("Cannot remove the failed policy", fmt.Sprintf("the fragment of %s is left behind (delete it with the admin API): %v", src, err))
			}
		}
		diags.AddAttributeError(at, summary, detail)
		return false
	}
	switch {
	case api.IsCode(err, api.CodeWaitTimeout):
		return fail(path.Root("rule"), "Policy not synced", fmt.Sprintf("the policy of config %s was not synced to Conflux within %s: %v", configID, writeWait, err))
	case err != nil:
		addAPIError(diags, policyErrorPath(err), "Cannot write the policy of config "+configID, err)
		return false
	}
	if msg := syncError(res, target); msg != "" {
		return fail(path.Root("rule"), "Conflux refused the policy", fmt.Sprintf("config %s could not be synced: %s", configID, msg))
	}
	if t, found, err := getTarget(ctx, r.c.api, target); err == nil && found {
		if reason := conflictOf(t, src); reason != "" {
			return fail(path.Root("config_id"), "Policy conflicts with another source", reason)
		}
	}
	plan.ID = types.StringValue(configID)
	sweepRetired(ctx, r.c.api, target, diags)
	return true
}

// policyErrorPath maps an admin API field error such as
// "spec.policy.rules[1].labels" to the rule's attribute.
func policyErrorPath(err error) path.Path {
	msg := err.Error()
	const prefix = "spec.policy.rules["
	i := strings.Index(msg, prefix)
	if i < 0 {
		return path.Root("rule")
	}
	rest := msg[i+len(prefix):]
	var idx int
	var field string
	if n, _ := fmt.Sscanf(rest, "%d].%s", &idx, &field); n < 1 {
		return path.Root("rule")
	}
	at := path.Root("rule").AtListIndex(idx)
	switch {
	case strings.HasPrefix(field, "priority"):
		return at.AtName("priority")
	case strings.HasPrefix(field, "labels"):
		return at.AtName("labels")
	case strings.HasPrefix(field, "release"):
		return at.AtName("version_id")
	}
	return at
}

// Read refreshes the rules from the provider's fragment, mapping release
// names back to version ids, so an out-of-band edit shows in the plan.
func (r *ReleasePolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state policyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID := state.ConfigID.ValueString()
	t, found, err := getTarget(ctx, r.c.api, releaseTarget(configID))
	if err != nil {
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot read config "+configID, err)
		return
	}
	var frag *api.Fragment
	if found {
		frag = fragmentOf(t, policySource(configID))
	}
	if frag == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	var spec api.ConfluxConfigSpec
	if err := json.Unmarshal(frag.Spec, &spec); err != nil {
		resp.Diagnostics.AddError("Cannot decode the policy of config "+configID, err.Error())
		return
	}
	var ids map[string]string
	if t.Status != nil {
		ids = t.Status.DownstreamIDs
	}
	var rules []policyRuleModel
	if spec.Policy != nil {
		for i, rule := range spec.Policy.Rules {
			vid := ids[idRelease+rule.Release]
			if vid == "" {
				resp.Diagnostics.AddWarning("Policy rule without a version",
					fmt.Sprintf("rule[%d] of the policy of config %s names release %s, which has no Conflux version yet", i, configID, rule.Release))
			}
			// No labels is {} in the state, however the configuration spells it.
			if rule.Labels == nil {
				rule.Labels = map[string]string{}
			}
			labels, d := types.MapValueFrom(ctx, types.StringType, rule.Labels)
			resp.Diagnostics.Append(d...)
			rules = append(rules, policyRuleModel{Priority: types.Int64Value(int64(rule.Priority)), VersionID: types.StringValue(vid), Labels: labels})
		}
	}
	state.Rules = rules
	state.ID = types.StringValue(configID)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Delete removes the fragment; conflux-sync then resets the Conflux
// policy to one default rule pointing at the newest stable version.
func (r *ReleasePolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state policyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configID := state.ConfigID.ValueString()
	target := releaseTarget(configID)
	res, err := r.c.api.DeleteFragment(ctx, target, policySource(configID), api.Wait(writeWait))
	if err == nil || api.IsCode(err, api.CodeNotFound) {
		defer sweepRetired(ctx, r.c.api, target, &resp.Diagnostics)
	}
	switch {
	case api.IsCode(err, api.CodeNotFound):
		return
	case api.IsCode(err, api.CodeWaitTimeout):
		resp.Diagnostics.AddWarning("Config "+configID+" not yet in sync",
			fmt.Sprintf("the policy was removed, but the config was not synced within %s: %v", writeWait, err))
		return
	case err != nil:
		addAPIError(&resp.Diagnostics, path.Root("config_id"), "Cannot delete the policy of config "+configID, err)
		return
	}
	if msg := syncError(res, target); msg != "" {
		resp.Diagnostics.AddWarning("Config "+configID+" is not in sync", "the policy was removed, but syncing the config failed: "+msg)
	}
}

// ImportState takes the config id.
func (r *ReleasePolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("config_id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
